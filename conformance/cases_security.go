package conformance

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/souk-market/souk/protocol"
)

// The security cases send calls the seller must refuse. Each is built with
// protocol.Client.NewHTTPRequest, exactly as a genuine call, and then
// altered in one respect, so that a refusal can only be due to that one
// thing. They query the debug instance (or a made-up id before there is
// one): a query changes nothing if a broken seller accepts it.

const (
	ruleAuth   = "spec §2.1"
	ruleParams = "spec §3, §5"
	// staleBy is how old the stale timestamp is: well outside the 60 s
	// window, so clock skew cannot excuse accepting it.
	staleBy = 5 * time.Minute
	// unknownActivity is an activity the protocol does not define.
	unknownActivity = protocol.Activity("noSuchActivity")
)

func securitySteps() []step {
	s := func(name string, a protocol.Activity, needs bool, run func(*checker) Result) step {
		return step{group: GroupSecurity, name: name, activity: a, needsInstance: needs, unskippable: true, run: run}
	}
	return []step{
		s("bad signature", protocol.QueryInstance, false, (*checker).badSignature),
		s("stale timestamp", protocol.QueryInstance, false, (*checker).staleTimestamp),
		s("replayed nonce", protocol.QueryInstance, true, (*checker).replayedNonce),
		s("missing signature", protocol.QueryInstance, false, (*checker).missingSignature),
		s("unknown activity", unknownActivity, false, (*checker).unknownActivity),
		s("missing field", protocol.NewInstance, false, (*checker).missingField),
	}
}

// queryReq is the harmless call the security cases alter.
func (c *checker) queryReq() *protocol.QueryInstanceRequest {
	id := c.instanceID
	if id == "" {
		id = "DEBUG-INSTANCE-" + c.suffix
	}
	return &protocol.QueryInstanceRequest{TestFlag: 1, InstanceID: id}
}

// alterQuery builds the signed query call and lets change alter its URL
// query string.
func (c *checker) alterQuery(client *protocol.Client, change func(q url.Values, body []byte)) (*http.Request, error) {
	hreq, err := c.signed(client, c.queryReq())
	if err != nil {
		return nil, err
	}
	if change != nil {
		body, _ := protocol.Encode(c.queryReq())
		q := hreq.URL.Query()
		change(q, body)
		hreq.URL.RawQuery = q.Encode()
	}
	return hreq, nil
}

func (c *checker) cannotBuild(err error) Result {
	return Result{Status: Fail, Detail: "cannot build the call: " + err.Error()}
}

// badSignature signs the call with another key, keeping timestamp and
// nonce: only the signature is wrong.
func (c *checker) badSignature() Result {
	hreq, err := c.alterQuery(c.client, func(q url.Values, body []byte) {
		q.Set(protocol.ParamSignature, protocol.SignQuery(c.cfg.Key+"-wrong", q.Get(protocol.ParamNonce), q.Get(protocol.ParamTimestamp), body))
	})
	if err != nil {
		return c.cannotBuild(err)
	}
	return c.expectCode(c.do(protocol.QueryInstance, hreq), protocol.CodeAuthFailed, "bad signature", ruleAuth)
}

// staleTimestamp signs the call correctly, but at a clock staleBy behind.
func (c *checker) staleTimestamp() Result {
	stale := *c.client
	stale.Now = func() time.Time { return c.cfg.Now().Add(-staleBy) }
	hreq, err := c.alterQuery(&stale, nil)
	if err != nil {
		return c.cannotBuild(err)
	}
	return c.expectCode(c.do(protocol.QueryInstance, hreq), protocol.CodeAuthFailed,
		"a correctly signed call with a timestamp 5 minutes old", ruleAuth+": timestamps more than 60 s from now are refused")
}

// replayedNonce sends one signed call twice. The first must succeed, or
// the refusal of the second proves nothing.
func (c *checker) replayedNonce() Result {
	hreq, err := c.alterQuery(c.client, nil)
	if err != nil {
		return c.cannotBuild(err)
	}
	first := c.do(protocol.QueryInstance, hreq)
	if !first.OK() {
		return c.result(first, Fail, "the first, genuine call was refused: "+c.failure(first, "")+"; the replay cannot be checked")
	}
	return c.expectCode(c.do(protocol.QueryInstance, hreq), protocol.CodeAuthFailed,
		"the replayed call (same nonce and signature, sent again)", ruleAuth+": a nonce already seen is refused")
}

// missingSignature drops signature, timestamp and nonce, keeping any
// parameter the production URL itself has.
func (c *checker) missingSignature() Result {
	hreq, err := c.alterQuery(c.client, func(q url.Values, _ []byte) {
		q.Del(protocol.ParamSignature)
		q.Del(protocol.ParamTimestamp)
		q.Del(protocol.ParamNonce)
	})
	if err != nil {
		return c.cannotBuild(err)
	}
	return c.expectCode(c.do(protocol.QueryInstance, hreq), protocol.CodeAuthFailed,
		"a call without signature, timestamp and nonce", ruleAuth)
}

// unknownActivity sends a correctly signed call of an activity the
// protocol does not define.
func (c *checker) unknownActivity() Result {
	body, _ := json.Marshal(map[string]string{"activity": string(unknownActivity), "testFlag": "1"})
	return c.expectCode(c.sendBody(unknownActivity, body), protocol.CodeInvalidParam, "unknown activity "+string(unknownActivity), ruleParams)
}

// missingField sends a correctly signed newInstance without orderId.
func (c *checker) missingField() Result {
	body, _ := json.Marshal(map[string]string{
		"activity": string(protocol.NewInstance), "testFlag": "1",
		"businessId": newID("DEBUG-BUSINESS"), "orderLineId": c.orderLineID,
	})
	return c.expectCode(c.sendBody(protocol.NewInstance, body), protocol.CodeInvalidParam, "newInstance without orderId", ruleParams)
}
