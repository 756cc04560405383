package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// SMSGateway sends one text message.
type SMSGateway interface {
	Send(ctx context.Context, phone, text string) error
}

// HTTPSMS sends SMS through an HTTP gateway: a POST of
// {"to": phone, "text": text} as JSON with "Authorization: Bearer Token".
// Any 2xx answer is success. Adapting to a vendor's API is a small proxy
// away, so the marketplace needs no vendor SDK.
type HTTPSMS struct {
	URL   string
	Token string
	// Timeout bounds one request, answer included [10 s].
	Timeout time.Duration
	// Client sends the requests [http.DefaultClient].
	Client *http.Client
}

// smsExcerptLen caps how much of a refusal's body lands in the error: the
// gateway's reason, not a whole HTML error page.
const smsExcerptLen = 200

// Send posts one message to the gateway.
func (g HTTPSMS) Send(ctx context.Context, phone, text string) error {
	body, err := json.Marshal(struct {
		To   string `json:"to"`
		Text string `json:"text"`
	}{phone, text})
	if err != nil {
		return err
	}
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("no answer within %s", timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms gateway: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	client := g.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("sms gateway %s: %w", g.URL, cause)
		}
		return fmt.Errorf("sms gateway: %w", err)
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, smsExcerptLen+1))
	// Drain a little more so the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		text := strings.TrimSpace(strings.ToValidUTF8(string(excerpt), "?"))
		if len(excerpt) > smsExcerptLen {
			text = strings.ToValidUTF8(text[:min(len(text), smsExcerptLen)], "") + "…"
		}
		return fmt.Errorf("sms gateway %s: HTTP %s: %s", g.URL, resp.Status, text)
	}
	return nil
}
