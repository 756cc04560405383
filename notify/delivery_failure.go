package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
)

// Kinds of the notices about failed production-interface calls.
const (
	KindDeliveryFailed    = "delivery.failed"            // stage 1: retrying
	KindDeliveryExhausted = "delivery.exhausted"         // stage 2: the policy gave up
	KindDeliveryAwaiting  = "delivery.awaiting_decision" // stage 2: a person decides
)

// Contact is where a seller's notices go.
type Contact struct {
	// Recipient is the seller's inbox ["seller:" + the seller's id].
	Recipient string
	// Email and Phone may be empty: the seller then gets no e-mail or SMS.
	Email string
	Phone string
}

// Recipients tells notify how to reach a seller; the catalogue implements
// it. Seller runs inside the delivery engine's transaction, so it reads
// through tx: on SQLite the transaction holds the only connection, and a
// read through the DB would wait for it forever. A seller without contact
// details is not an error (return what there is); an error rolls back the
// attempt being recorded, so return one only when tx cannot go on.
type Recipients interface {
	Seller(ctx context.Context, tx *store.Tx, sellerID string) (Contact, error)
}

// RecipientsFunc adapts a function to Recipients.
type RecipientsFunc func(ctx context.Context, tx *store.Tx, sellerID string) (Contact, error)

// Seller calls f.
func (f RecipientsFunc) Seller(ctx context.Context, tx *store.Tx, sellerID string) (Contact, error) {
	return f(ctx, tx, sellerID)
}

// Hooks returns the function to set as delivery.Hooks.Failed: it posts the
// seller a DeliveryFailureNotice in the transaction that records the
// failure. The engine calls it at most once per call per policy stage, so
// a seller hears of a failing call when it starts failing and once more
// when the policy gives up — never once per retry (marketplace spec §5).
func Hooks(r Recipients) func(ctx context.Context, tx *store.Tx, c *delivery.Call, stage int) error {
	return func(ctx context.Context, tx *store.Tx, c *delivery.Call, stage int) error {
		to, err := r.Seller(ctx, tx, c.SellerID)
		if err != nil {
			return fmt.Errorf("contact of seller %s: %w", c.SellerID, err)
		}
		n := DeliveryFailureNotice(c, stage)
		if to.Recipient != "" {
			n.Recipient = to.Recipient
		}
		n.Email, n.Phone = to.Email, to.Phone
		return Post(ctx, tx, n)
	}
}

// DeliveryFailureNotice writes the seller's notice about call c failing at
// stage (1: failing and retried; 2: the policy gave up, or the call awaits
// a person's decision): which interface, product and key, the last result,
// and what happens next. Email and Phone are left for the caller.
func DeliveryFailureNotice(c *delivery.Call, stage int) Notice {
	policy, known := delivery.Policies[c.Policy]
	var kind, status, next string
	switch {
	case stage < 2:
		kind, status = KindDeliveryFailed, "failing — retrying"
		next = fmt.Sprintf("The marketplace retries per policy %s (%s).", c.Policy, policySummary(policy, known))
		if !c.NextAt.IsZero() {
			next += " Next attempt: " + c.NextAt.UTC().Format("2006-01-02 15:04:05") + " UTC."
		}
		next += " You will hear again only if the retries are exhausted."
	case c.State == delivery.AwaitingDecision || policy.AwaitDecision:
		who := "buyer"
		if policy.Decider == "admin" {
			who = "enterprise admin"
		}
		kind, status = KindDeliveryAwaiting, "failed — awaiting the "+who+"'s decision"
		next = fmt.Sprintf("This interface is not retried automatically: the call is awaiting the %s's decision to retry it. "+
			"Fix your interface so that the retry succeeds.", who)
	default:
		kind, status = KindDeliveryExhausted, "exhausted — action needed"
		next = fmt.Sprintf("Policy %s is exhausted: the marketplace no longer retries this call. "+
			"Fix your interface, then re-invoke the call from Seller centre › Production interface messages.", c.Policy)
		if c.Policy == delivery.NewPurchase.Name {
			next += " Under this policy the order fails and is unsubscribed automatically, and the buyer is refunded in full."
		}
	}

	var b strings.Builder
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%-14s %s\n", label+":", value)
		}
	}
	b.WriteString("A call from the marketplace to your production interface failed.\n\n")
	line("Interface", string(c.Activity))
	line("Product", c.ProductID)
	line("Instance key", c.Key)
	line("Call", fmt.Sprintf("#%d", c.ID))
	line("Attempts", fmt.Sprint(c.Attempts))
	line("Last outcome", string(c.LastOutcome))
	line("Result code", resultCode(c.LastCode))
	line("Last error", c.LastError)
	b.WriteString("\nWhat happens next: " + next + "\n")

	return Notice{
		Recipient: "seller:" + c.SellerID,
		Kind:      kind,
		Subject:   fmt.Sprintf("%s call for product %s %s", c.Activity, c.ProductID, status),
		Body:      b.String(),
	}
}

func resultCode(c protocol.Code) string {
	if c == "" {
		return ""
	}
	if m := c.Meaning(); m != "" {
		return string(c) + " (" + m + ")"
	}
	return string(c)
}

// policySummary says a retry policy in words, from its data, so the notice
// never disagrees with what the engine does.
func policySummary(p delivery.Policy, known bool) string {
	if !known {
		return "unknown to this version"
	}
	if len(p.Delays) == 0 {
		return "no automatic retry"
	}
	var parts []string
	for i, d := range p.Delays {
		if i == len(p.Delays)-1 {
			parts = append(parts, "then every "+shortDuration(d))
		} else {
			parts = append(parts, shortDuration(d))
		}
	}
	s := "retry after " + strings.Join(parts, ", ")
	if len(p.Delays) == 1 {
		s = "retry every " + shortDuration(p.Delays[0])
	}
	if p.Deadline > 0 {
		s += " for " + shortDuration(p.Deadline)
	}
	if p.MaxAttempts > 0 {
		s += fmt.Sprintf(", at most %d attempts", p.MaxAttempts)
	}
	return s
}

func shortDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return fmt.Sprintf("%d s", d/time.Second)
}
