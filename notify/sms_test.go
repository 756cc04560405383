package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk/notify"
)

func TestHTTPSMSPostsJSONWithABearerToken(t *testing.T) {
	var got struct {
		Method, Path, Auth, ContentType string
		Body                            map[string]string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Method, got.Path = r.Method, r.URL.Path
		got.Auth, got.ContentType = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &got.Body); err != nil {
			t.Errorf("body %q: %v", b, err)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	g := notify.HTTPSMS{URL: srv.URL + "/send", Token: "tok-123"}
	if err := g.Send(context.Background(), "+8613800000000", "调用失败: newInstance"); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	if got.Method != "POST" || got.Path != "/send" || got.Auth != "Bearer tok-123" || got.ContentType != "application/json" {
		t.Fatalf("request = %+v", got)
	}
	if len(got.Body) != 2 || got.Body["to"] != "+8613800000000" || got.Body["text"] != "调用失败: newInstance" {
		t.Fatalf("body = %v", got.Body)
	}
}

func TestHTTPSMSReportsARefusalWithAnExcerpt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "quota exceeded for account 42"+strings.Repeat(" and more", 1000))
	}))
	defer srv.Close()

	err := notify.HTTPSMS{URL: srv.URL, Token: "secret-token"}.Send(context.Background(), "+86138", "hi")
	if err == nil {
		t.Fatal("Send() = nil, want an error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "500") || !strings.Contains(msg, "quota exceeded for account 42") {
		t.Fatalf("error %q does not say the status and the reason", msg)
	}
	if len(msg) > 400 || !strings.HasSuffix(msg, "…") {
		t.Fatalf("error is %d bytes (%q), want a capped excerpt", len(msg), msg)
	}
	if strings.Contains(msg, "secret-token") {
		t.Fatal("error reveals the token")
	}
}

func TestHTTPSMSTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	start := time.Now()
	err := notify.HTTPSMS{URL: srv.URL, Timeout: 200 * time.Millisecond}.Send(context.Background(), "+86138", "hi")
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Fatalf("Send() = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Send() took %v, want about the 200 ms timeout", d)
	}
}
