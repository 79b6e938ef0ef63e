package profiling

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// labelValues asks a Pyroscope server for the values of a label over the
// last hour (its Connect API, JSON encoding), returning the raw answer.
func labelValues(ctx context.Context, server, name string) (string, error) {
	now := time.Now()
	body := fmt.Sprintf(`{"name":%q,"start":%d,"end":%d}`, name, now.Add(-time.Hour).UnixMilli(), now.Add(time.Minute).UnixMilli())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(server, "/")+"/querier.v1.QuerierService/LabelValues", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("LabelValues %s: %s", name, resp.Status)
	}
	return string(b), nil
}
