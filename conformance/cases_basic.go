package conformance

import (
	"fmt"
	"time"

	"github.com/souk-market/souk/protocol"
)

// Rules quoted in failures.
const (
	ruleDebug       = "debug calls must succeed, spec §9"
	ruleRepeat      = "a repeat of a call already applied must succeed unchanged, spec §7"
	ruleSameInst    = "same orderId+orderLineId must give the same instance, spec §7"
	ruleUpgradeSame = "upgradeInstance with the same orderId again must succeed, spec §7"
	ruleChangeCheck = "a fresh debug instance holds no data, so the change must be allowed"
)

// basicSteps are the instance lifecycle up to orderNotify; releaseSteps
// end it after the other groups have used the instance.
func basicSteps() []step {
	b := func(name string, a protocol.Activity, needs bool, run func(*checker) Result) step {
		return step{group: GroupBasic, name: name, activity: a, needsInstance: needs, run: run}
	}
	steps := []step{
		b("newInstance", protocol.NewInstance, false, (*checker).newInstance),
		b("newInstance repeat", protocol.NewInstance, true, (*checker).newInstanceRepeat),
		b("queryInstance", protocol.QueryInstance, true, (*checker).queryInstance),
	}
	steps = append(steps, pair(GroupBasic, "refreshInstance RENEWAL", protocol.RefreshInstance, true, ruleDebug, ruleRepeat, func(c *checker) protocol.Request {
		return &protocol.RefreshInstanceRequest{
			TestFlag: 1, Scene: protocol.SceneRenewal,
			OrderID: "DEBUG-RENEW-" + c.suffix, OrderLineID: "DEBUG-RENEW-LINE-" + c.suffix,
			InstanceID: c.instanceID, ExpireTime: c.expireTime,
		}
	})...)
	for _, status := range []string{protocol.StatusFreeze, protocol.StatusUnfreeze} {
		steps = append(steps, pair(GroupBasic, "updateInstanceStatus "+status, protocol.UpdateInstanceStatus, true, ruleDebug, ruleRepeat, func(c *checker) protocol.Request {
			return &protocol.UpdateInstanceStatusRequest{TestFlag: 1, InstanceID: c.instanceID, Status: status}
		})...)
	}
	steps = append(steps, pair(GroupBasic, "upgradeInstance", protocol.UpgradeInstance, true, ruleDebug, ruleUpgradeSame, func(c *checker) protocol.Request {
		return &protocol.UpgradeInstanceRequest{
			TestFlag: 1, InstanceID: c.instanceID,
			OrderID: "DEBUG-UPGRADE-" + c.suffix, OrderLineID: "DEBUG-UPGRADE-LINE-" + c.suffix,
		}
	})...)
	steps = append(steps,
		single(GroupBasic, "changeInstanceCheck", protocol.ChangeInstanceCheck, true, ruleChangeCheck, func(c *checker) protocol.Request {
			return &protocol.ChangeInstanceCheckRequest{TestFlag: 1, InstanceID: c.instanceID, ProductInfo: protocol.ProductInfo{
				ProductID: "DEBUG-PRODUCT", SKUCode: "DEBUG-SKU", ProductName: "souk conformance check",
			}}
		}),
		// orderNotify is about an order, not an instance: it runs even
		// when newInstance failed.
		single(GroupBasic, "orderNotify", protocol.OrderNotify, false, ruleDebug, func(c *checker) protocol.Request {
			return &protocol.OrderNotifyRequest{TestFlag: 1, OrderID: c.orderID, OrderLineID: c.orderLineID}
		}),
	)
	return steps
}

func releaseSteps() []step {
	return pair(GroupBasic, "releaseInstance", protocol.ReleaseInstance, true, ruleDebug, ruleRepeat, func(c *checker) protocol.Request {
		return &protocol.ReleaseInstanceRequest{TestFlag: 1, InstanceID: c.instanceID}
	})
}

// single is a case of one call that must succeed.
func single(group, name string, a protocol.Activity, needs bool, why string, build func(*checker) protocol.Request) step {
	return step{group: group, name: name, activity: a, needsInstance: needs, run: func(c *checker) Result {
		req := build(c)
		if c.buildErr != nil {
			return c.cannotBuild(c.buildErr)
		}
		return c.expectSuccess(c.send(req), why)
	}}
}

// pair is a call and its identical repeat (signed afresh), both of which
// must succeed: the repeat is what the marketplace sends when it did not
// get the first answer.
func pair(group, name string, a protocol.Activity, needs bool, why, repeatWhy string, build func(*checker) protocol.Request) []step {
	repeat := single(group, name+" repeat", a, needs, repeatWhy, build)
	repeat.after = name
	return []step{single(group, name, a, needs, why, build), repeat}
}

// newInstance provisions the debug instance every later case works on:
// ready at once (000000 with appInfo.frontEndUrl), or asynchronously (an
// instanceId without final info, or 000004) and then polled with
// queryInstance as the marketplace does (§3).
func (c *checker) newInstance() Result {
	o := c.send(&protocol.NewInstanceRequest{
		TestFlag: 1, BusinessID: newID("DEBUG-BUSINESS"), OrderID: c.orderID, OrderLineID: c.orderLineID,
	})
	if o.Kind != protocol.OutcomeSuccess && o.Kind != protocol.OutcomeAccepted {
		return c.result(o, Fail, c.failure(o, "or 000004 while provisioning asynchronously, spec §3"))
	}
	var resp protocol.NewInstanceResponse
	if err := o.Decode(&resp); err != nil {
		return c.result(o, Fail, err.Error())
	}
	if resp.InstanceID == "" {
		return c.result(o, Fail, fmt.Sprintf("answered %s without instanceId: the marketplace cannot refer to the instance (spec §3)", o.ResultCode))
	}
	c.instanceID = resp.InstanceID
	if resp.Ready() {
		c.frontEndURL = resp.AppInfo.FrontEndURL
		return c.result(o, Pass, fmt.Sprintf("instanceId %s, frontEndUrl %s", c.instanceID, c.frontEndURL))
	}
	polls, waited, err := c.pollReady()
	if err != nil {
		return c.result(o, Fail, fmt.Sprintf("answered %s with instanceId %s but no appInfo.frontEndUrl yet; %v", o.ResultCode, c.instanceID, err))
	}
	return c.result(o, Pass, fmt.Sprintf("instanceId %s provisioned asynchronously (%s): ready after %d queryInstance polls in %s, frontEndUrl %s",
		c.instanceID, o.ResultCode, polls, waited.Round(time.Millisecond), c.frontEndURL))
}

// pollReady polls queryInstance until the instance has a frontEndUrl or
// PollTimeout passes. Answers other than success (000004 included) mean
// "not yet", as they do for the marketplace, which keeps polling until its
// deadline.
func (c *checker) pollReady() (polls int, waited time.Duration, err error) {
	start := time.Now()
	last := "no answer yet"
	for time.Since(start) < c.cfg.PollTimeout {
		select {
		case <-c.ctx.Done():
			return polls, time.Since(start), fmt.Errorf("polling queryInstance interrupted: %w", c.ctx.Err())
		case <-time.After(c.cfg.PollInterval):
		}
		polls++
		info, o := c.query()
		switch {
		case info != nil && info.Ready():
			c.frontEndURL = info.AppInfo.FrontEndURL
			return polls, time.Since(start), nil
		case o.OK() && info == nil:
			last = fmt.Sprintf("info[] has no entry for instanceId %s", c.instanceID)
		case o.OK():
			last = "info[].appInfo.frontEndUrl still empty"
		default:
			last = problem(o)
		}
	}
	return polls, time.Since(start), fmt.Errorf("not ready after %d queryInstance polls in %s (last answer: %s)",
		polls, c.cfg.PollTimeout, last)
}

// query asks queryInstance about the instance and returns its entry, or
// nil when the answer is not success or does not list it.
func (c *checker) query() (*protocol.InstanceInfo, *protocol.Outcome) {
	o := c.send(&protocol.QueryInstanceRequest{TestFlag: 1, InstanceID: c.instanceID})
	if !o.OK() {
		return nil, o
	}
	var resp protocol.QueryInstanceResponse
	if err := o.Decode(&resp); err != nil {
		return nil, o
	}
	for i := range resp.Info {
		if resp.Info[i].InstanceID == c.instanceID {
			return &resp.Info[i], o
		}
	}
	return nil, o
}

// newInstanceRepeat sends the same order line again with a new businessId,
// as the marketplace does when it retries a new purchase (§7).
func (c *checker) newInstanceRepeat() Result {
	o := c.send(&protocol.NewInstanceRequest{
		TestFlag: 1, BusinessID: newID("DEBUG-BUSINESS"), OrderID: c.orderID, OrderLineID: c.orderLineID,
	})
	// 000004 is fine while the first call's instance is still provisioning,
	// not once it is ready.
	if !o.OK() && !(o.Kind == protocol.OutcomeAccepted && c.frontEndURL == "") {
		return c.result(o, Fail, "repeat newInstance "+c.failure(o, ruleSameInst))
	}
	var resp protocol.NewInstanceResponse
	if err := o.Decode(&resp); err != nil {
		return c.result(o, Fail, err.Error())
	}
	if resp.InstanceID != c.instanceID {
		got := resp.InstanceID
		if got == "" {
			got = "none"
		}
		return c.result(o, Fail, fmt.Sprintf("repeat newInstance returned instanceId %s, want %s (%s)", got, c.instanceID, ruleSameInst))
	}
	if c.frontEndURL != "" {
		got := ""
		if resp.AppInfo != nil {
			got = resp.AppInfo.FrontEndURL
		}
		if got != c.frontEndURL {
			if got == "" {
				got = "none"
			}
			return c.result(o, Fail, fmt.Sprintf("repeat newInstance returned frontEndUrl %s, want %s (%s)", got, c.frontEndURL, ruleSameInst))
		}
	}
	return c.result(o, Pass, "same instanceId "+c.instanceID)
}

// queryInstance checks that the seller reports the instance, ready, with
// the frontEndUrl it was given.
func (c *checker) queryInstance() Result {
	info, o := c.query()
	switch {
	case !o.OK():
		return c.result(o, Fail, c.failure(o, ruleDebug))
	case info == nil:
		return c.result(o, Fail, fmt.Sprintf("answer has no info[] entry with instanceId %s (spec §3)", c.instanceID))
	case !info.Ready() && c.frontEndURL == "":
		return c.result(o, Fail, fmt.Sprintf("info[] entry of instance %s has no appInfo.frontEndUrl: the instance never became ready (spec §3)", c.instanceID))
	case !info.Ready():
		return c.result(o, Fail, fmt.Sprintf("info[] entry of instance %s has no appInfo.frontEndUrl, though the instance was reported ready (spec §3)", c.instanceID))
	case c.frontEndURL != "" && info.AppInfo.FrontEndURL != c.frontEndURL:
		return c.result(o, Fail, fmt.Sprintf("queryInstance returned frontEndUrl %s for instance %s, want %s as newInstance returned", info.AppInfo.FrontEndURL, c.instanceID, c.frontEndURL))
	}
	return c.result(o, Pass, "")
}
