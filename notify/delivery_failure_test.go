package notify_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/notify"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

func failingCall(policy delivery.Policy, state delivery.State) *delivery.Call {
	return &delivery.Call{ID: 42, SellerID: "s-7", ProductID: "prod-1", Key: "ins-9", Activity: protocol.NewInstance,
		Policy: policy.Name, State: state, Attempts: 3, NextAt: t0.Add(10 * time.Second),
		LastOutcome: protocol.OutcomeRejected, LastCode: protocol.CodeInternal, LastError: "seller said no"}
}

func TestDeliveryFailureNoticeSaysWhatFailedAndWhatHappensNext(t *testing.T) {
	common := []string{"Interface:     newInstance", "Product:       prod-1", "Instance key:  ins-9", "Call:          #42",
		"Attempts:      3", "Last outcome:  rejected", "Result code:   000005 (internal error of the seller)",
		"Last error:    seller said no"}
	for _, tc := range []struct {
		name    string
		call    *delivery.Call
		stage   int
		kind    string
		subject string
		next    []string
	}{
		{"retrying", failingCall(delivery.NewPurchase, delivery.Retrying), 1, notify.KindDeliveryFailed,
			"newInstance call for product prod-1 failing — retrying",
			[]string{"retries per policy new_purchase (retry after 10 s, 30 s, 1 min, 2 min, 5 min, then every 10 min for 3 h)",
				"Next attempt: 2026-11-30 12:00:10 UTC", "only if the retries are exhausted"}},
		{"licence retrying", failingCall(delivery.License, delivery.Retrying), 1, notify.KindDeliveryFailed,
			"newInstance call for product prod-1 failing — retrying",
			[]string{"retries per policy license (retry every 2 min, at most 60 attempts)"}},
		{"exhausted", failingCall(delivery.Renewal, delivery.Exhausted), 2, notify.KindDeliveryExhausted,
			"newInstance call for product prod-1 exhausted — action needed",
			[]string{"Policy renewal is exhausted", "Fix your interface, then re-invoke the call from Seller centre › Production interface messages."}},
		{"purchase exhausted", failingCall(delivery.NewPurchase, delivery.Exhausted), 2, notify.KindDeliveryExhausted,
			"newInstance call for product prod-1 exhausted — action needed",
			[]string{"re-invoke", "the buyer is refunded in full"}},
		{"buyer decides", failingCall(delivery.KitBuyer, delivery.AwaitingDecision), 2, notify.KindDeliveryAwaiting,
			"newInstance call for product prod-1 failed — awaiting the buyer's decision",
			[]string{"awaiting the buyer's decision to retry it"}},
		{"admin decides", failingCall(delivery.KitAdmin, delivery.AwaitingDecision), 2, notify.KindDeliveryAwaiting,
			"newInstance call for product prod-1 failed — awaiting the enterprise admin's decision",
			[]string{"awaiting the enterprise admin's decision"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := notify.DeliveryFailureNotice(tc.call, tc.stage)
			if n.Recipient != "seller:s-7" || n.Kind != tc.kind || n.Subject != tc.subject || n.Email != "" || n.Phone != "" {
				t.Fatalf("notice = %s / %s / %q", n.Recipient, n.Kind, n.Subject)
			}
			for _, want := range append(common, tc.next...) {
				if !strings.Contains(n.Body, want) {
					t.Errorf("body lacks %q:\n%s", want, n.Body)
				}
			}
			if tc.stage == 2 && strings.Contains(n.Body, "Next attempt") {
				t.Errorf("a stage-2 notice announces a next attempt:\n%s", n.Body)
			}
		})
	}
}

func TestHooksPostsTheNoticeToTheSellersContacts(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		hook := notify.Hooks(notify.RecipientsFunc(func(ctx context.Context, tx *store.Tx, sellerID string) (notify.Contact, error) {
			// Reads go through tx: on SQLite a read through db would wait
			// for this very transaction.
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
				return notify.Contact{}, err
			}
			if sellerID == "s-7" {
				return notify.Contact{Email: "ops@s7.example", Phone: "+86138"}, nil
			}
			return notify.Contact{Recipient: "seller-org:" + sellerID}, nil // no e-mail, no phone
		}))
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := hook(ctx, tx, failingCall(delivery.Renewal, delivery.Retrying), 1); err != nil {
				return err
			}
			other := failingCall(delivery.Renewal, delivery.Exhausted)
			other.SellerID = "s-8"
			return hook(ctx, tx, other, 2)
		})
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := notify.Inbox(ctx, db, "seller:s-7", notify.InboxFilter{})
		if len(ms) != 1 || ms[0].Kind != notify.KindDeliveryFailed {
			t.Fatalf("seller:s-7 inbox = %+v", ms)
		}
		ms, _ = notify.Inbox(ctx, db, "seller-org:s-8", notify.InboxFilter{})
		if len(ms) != 1 || ms[0].Kind != notify.KindDeliveryExhausted {
			t.Fatalf("seller-org:s-8 inbox = %+v", ms)
		}
		rows := outbox(t, db)
		if len(rows) != 2 || rows[0].Address != "ops@s7.example" || rows[1].Address != "+86138" {
			t.Fatalf("outbox = %+v, want s-7's e-mail and SMS only", rows)
		}
	})
}

// The delivery engine with notify's hook, against a seller that always
// fails: one notice when the call starts failing, one when the policy gives
// up — not one per attempt — and a new pair after a re-invocation.
func TestEngineNotifiesTheSellerOncePerStage(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock.Set(t0)
		seller := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"resultCode":"000005","resultMsg":"database down"}`)
		}))
		defer seller.Close()

		contacts := notify.RecipientsFunc(func(context.Context, *store.Tx, string) (notify.Contact, error) {
			return notify.Contact{Email: "ops@seller.example"}, nil
		})
		client := protocol.NewClient(protocol.Default, clock.Now, 4)
		e := delivery.New(db, client, target(seller.URL), delivery.Hooks{Failed: notify.Hooks(contacts)}, delivery.Config{Workers: 4})
		var id int64
		err := db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			id, err = delivery.Enqueue(ctx, tx, delivery.NewCall{SellerID: "seller-1", ProductID: "prod-1", Key: "ins-1",
				Policy: delivery.Renewal, Request: &protocol.RefreshInstanceRequest{Scene: protocol.SceneRenewal,
					OrderID: "o", OrderLineID: "l", InstanceID: "ins-1", ExpireTime: "20271130120000"}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		kinds := func() string {
			ms, err := notify.Inbox(ctx, db, "seller:seller-1", notify.InboxFilter{})
			if err != nil {
				t.Fatal(err)
			}
			s := ""
			for i := len(ms) - 1; i >= 0; i-- {
				s += ms[i].Kind + " "
			}
			return s
		}
		attempts := runEngine(t, e, clock)
		if attempts < 10 {
			t.Fatalf("the renewal policy made %d attempts, want many", attempts)
		}
		if got, want := kinds(), "delivery.failed delivery.exhausted "; got != want {
			t.Fatalf("after %d failed attempts the inbox holds %q, want %q", attempts, got, want)
		}
		ms, _ := notify.Inbox(ctx, db, "seller:seller-1", notify.InboxFilter{})
		if !strings.Contains(ms[0].Body, "Result code:   000005") || !strings.Contains(ms[0].Body, "Instance key:  ins-1") {
			t.Fatalf("exhausted notice:\n%s", ms[0].Body)
		}

		if err := e.Reinvoke(ctx, id, delivery.Actor{Role: delivery.RoleSeller, ID: "u-1", SellerID: "seller-1"}, "fixed it"); err != nil {
			t.Fatal(err)
		}
		runEngine(t, e, clock)
		if got, want := kinds(), "delivery.failed delivery.exhausted delivery.failed delivery.exhausted "; got != want {
			t.Fatalf("after a re-invocation the inbox holds %q, want %q", got, want)
		}
		if rows := outbox(t, db); len(rows) != 4 {
			t.Fatalf("%d e-mails queued, want 4", len(rows))
		}
	})
}

type target string

func (u target) Target(context.Context, string, string) (protocol.Target, error) {
	return protocol.Target{URL: string(u), AccessKey: "k", Timeout: 5 * time.Second}, nil
}

// runEngine runs the engine's schedule to its end on the fake clock and
// returns how many attempts it made.
func runEngine(t *testing.T, e *delivery.Engine, clock *souk.FakeClock) int {
	t.Helper()
	total := 0
	for range 1000 {
		n, err := e.RunDue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		total += n
		at, ok, err := e.NextDue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return total
		}
		if at.After(clock.Now()) {
			clock.Set(at)
		}
	}
	t.Fatal("the schedule did not end")
	return 0
}
