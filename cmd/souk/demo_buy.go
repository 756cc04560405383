package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/settle"
)

// The demo's purchase, made through the marketplace's JSON API as any
// buyer's, and the commands it suggests trying next.

// demoSpec is the spec of the SaaS product the demo buys.
const demoSpec = "basic"

// demoClient calls the marketplace's JSON API.
type demoClient struct {
	base string // http://HOST:PORT/api/v1
}

var demoHTTP = &http.Client{Timeout: 30 * time.Second}

// do sends a request with an optional bearer token, Idempotency-Key and
// JSON body, and decodes a 2xx answer into out; any other status is an
// error quoting the answer.
func (c *demoClient) do(ctx context.Context, method, path, token, key string, body, out any) error {
	_, err := c.send(ctx, method, path, token, key, body, out)
	return err
}

// send is do, returning the status too.
func (c *demoClient) send(ctx context.Context, method, path, token, key string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := demoHTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if out == nil {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, json.Unmarshal(b, out)
}

// login logs in as a and returns the session token.
func (c *demoClient) login(ctx context.Context, a *demoAccount) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	err := c.do(ctx, http.MethodPost, "/auth/login", "", "", map[string]string{"email": a.Email, "password": a.Password}, &out)
	return out.Token, err
}

type demoMoney struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

func (m demoMoney) String() string { return settle.M(m.Amount, m.Currency).String() }

// demoPurchase is the demo's purchase as the API shows it.
type demoPurchase struct {
	orderID, instanceID, state string
	frontEndURL                string
	paid, balance              string
	repeated                   bool // bought on an earlier run
}

// demoBuy logs in as the buyer and buys the SaaS product's demoSpec with
// the state's Idempotency-Key — so that a later run finds the same order —
// unless that order's instance is gone (unsubscribed, failed), then waits
// up to 15 s for the instance to become active.
func demoBuy(ctx context.Context, c *demoClient, state *demoState, p *demoProduct) (demoPurchase, error) {
	token, err := c.login(ctx, state.Accounts[souk.RoleBuyer])
	if err != nil {
		return demoPurchase{}, fmt.Errorf("the buyer logs in: %w", err)
	}
	var b demoPurchase
	for again := true; again; {
		if state.PurchaseKey == "" {
			state.PurchaseKey = "souk-demo-" + strings.ToLower(rand.Text()[:10])
			if err := state.save(); err != nil {
				return b, err
			}
		}
		var o struct {
			ID     string    `json:"id"`
			Amount demoMoney `json:"amount"`
			Lines  []struct {
				InstanceID string `json:"instanceId"`
			} `json:"lines"`
		}
		status, err := c.send(ctx, http.MethodPost, "/orders", token, state.PurchaseKey,
			map[string]any{"productId": p.ID, "specCode": demoSpec}, &o)
		if err != nil {
			return b, fmt.Errorf("the buyer buys %s: %w", p.Product.Name, err)
		}
		if len(o.Lines) != 1 {
			return b, fmt.Errorf("order %s has %d lines, want 1", o.ID, len(o.Lines))
		}
		b = demoPurchase{orderID: o.ID, instanceID: o.Lines[0].InstanceID, paid: o.Amount.String()}
		if err := b.refresh(ctx, c, token); err != nil {
			return b, err
		}
		b.repeated = status == http.StatusOK // 201 for a new order
		// An instance unsubscribed (or failed) since an earlier run: buy
		// another, once.
		again = (b.state == "released" || b.state == "failed") && b.repeated
		if again {
			state.PurchaseKey = ""
			b.repeated = false
		}
	}
	for deadline := time.Now().Add(15 * time.Second); b.state == "provisioning" && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return b, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if err := b.refresh(ctx, c, token); err != nil {
			return b, err
		}
	}
	var balances []demoMoney
	if err := c.do(ctx, http.MethodGet, "/me/balance", token, "", nil, &balances); err != nil {
		return b, err
	}
	for _, m := range balances {
		if m.Currency == demoTopUp.Currency {
			b.balance = m.String()
		}
	}
	return b, nil
}

// refresh reads the instance's state.
func (b *demoPurchase) refresh(ctx context.Context, c *demoClient, token string) error {
	var in struct {
		State       string `json:"state"`
		FrontEndURL string `json:"frontEndUrl"`
	}
	if err := c.do(ctx, http.MethodGet, "/instances/"+b.instanceID, token, "", nil, &in); err != nil {
		return err
	}
	b.state, b.frontEndURL = in.State, in.FrontEndURL
	return nil
}

// demoTry is one suggestion of the guide: a comment and a shell command.
type demoTry struct{ comment, command string }

// demoTries are the commands the guide suggests: a shell script, run as
// it is by the demo's test.
func demoTries(api string, seed *demoSeed, ps []*demoProduct, b demoPurchase) []demoTry {
	login := func(variable, role string) string {
		a := seed.state.Accounts[role]
		return fmt.Sprintf(`%s=$(curl -s -X POST $API/auth/login -H 'Content-Type: application/json' -d '{"email":"%s","password":"%s"}' | sed -n 's/.*"token": "\([^"]*\)".*/\1/p')`,
			variable, a.Email, a.Password)
	}
	const buyer, jsonBody = `-H "Authorization: Bearer $TOKEN"`, `-H 'Content-Type: application/json'`
	saas := ps[0]
	tries := []demoTry{
		{"", "API=" + api},
		{"Log in as the buyer: the answer's session token goes into $TOKEN.", login("TOKEN", souk.RoleBuyer)},
		{"The catalogue, and what the buyer may buy of " + saas.Product.Name + ".",
			"curl -s $API/products\ncurl -s $API/products/" + saas.ID + "/offers " + buyer},
		{"Buy " + saas.Product.Name + " pro for 5 users, one month (the same Idempotency-Key again gives the same order).",
			fmt.Sprintf(`curl -s -X POST $API/orders %s %s -H 'Idempotency-Key: try-1' -d '{"productId":"%s","specCode":"pro","quantity":5}'`, buyer, jsonBody, saas.ID)},
		{"My instances (the new one is active once the seller has provisioned it) and my balance.",
			"curl -s $API/my/instances " + buyer + "\ncurl -s $API/me/balance " + buyer},
		{"Renew the demo's instance for another month: the engine calls the seller's refreshInstance.",
			fmt.Sprintf(`curl -s -X POST $API/instances/%s/renew %s %s -d '{"periods":1}'`, b.instanceID, buyer, jsonBody)},
	}
	if b.frontEndURL != "" {
		tries = append(tries, demoTry{"The instance at the seller: its page in the seller's app.", "curl -s " + b.frontEndURL})
	}
	tries = append(tries,
		demoTry{"Unsubscribe: the unused part is refunded, and the engine calls the seller's releaseInstance.",
			fmt.Sprintf(`curl -s -X POST $API/instances/%s/unsubscribe %s`, b.instanceID, buyer)},
		demoTry{"As the seller: its products, each with its open application.",
			login("SELLER_TOKEN", souk.RoleSeller) + "\ncurl -s $API/my/products -H \"Authorization: Bearer $SELLER_TOKEN\""},
		demoTry{"As the operator: top the buyer up with 500.00 CNY.",
			login("OPERATOR_TOKEN", souk.RoleOperator) + fmt.Sprintf(
				"\ncurl -s -X POST $API/buyers/%s/top-up -H \"Authorization: Bearer $OPERATOR_TOKEN\" %s -d '{\"amount\":50000,\"currency\":\"CNY\"}'", seed.buyer.ID, jsonBody)},
		demoTry{"The production interface messages are not in the API yet: run the demo again to see the latest calls and attempts.", ""},
	)
	return tries
}

// printTries prints the tries as a shell script, indented.
func printTries(w io.Writer, tries []demoTry) {
	fmt.Fprintln(w, "Try it (paste into a shell):")
	fmt.Fprintln(w)
	for _, t := range tries {
		if t.comment != "" {
			fmt.Fprintln(w, "  # "+t.comment)
		}
		for _, line := range strings.Split(t.command, "\n") {
			if line != "" {
				fmt.Fprintln(w, "  "+line)
			}
		}
	}
}
