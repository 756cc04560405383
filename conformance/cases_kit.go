package conformance

import (
	"crypto/rand"
	"crypto/rsa"
	"sync"

	"github.com/souk-market/souk/protocol"
)

// The kit cases (§4) bind a debug enterprise to the debug instance, give
// it an app credential, a department and a user, then take everything away
// again in reverse order. Every add and delete is repeated: §7 requires a
// repeated add to change nothing and a repeated delete to succeed.

const (
	ruleKitAdd    = "a repeated add changes nothing and must succeed, spec §7"
	ruleKitDelete = "a repeated delete must succeed, spec §7"
	ruleKitGone   = "a delete must not fail because the thing is already gone, spec §7"
)

func kitSteps() []step {
	k := func(name string, a protocol.Activity, flag protocol.NumberFlag, why, repeatWhy string, build func(c *checker, flag protocol.NumberFlag) protocol.Request) []step {
		return pair(GroupKit, name, a, true, why, repeatWhy, func(c *checker) protocol.Request { return build(c, flag) })
	}
	var steps []step
	add := func(s ...step) { steps = append(steps, s...) }
	add(k("tenantSync add", protocol.TenantSync, protocol.FlagAdd, ruleDebug, ruleKitAdd, (*checker).tenantSync)...)
	add(k("applicationSync add", protocol.ApplicationSync, protocol.FlagAdd, ruleDebug, ruleKitAdd, (*checker).applicationSync)...)
	add(k("singleOrgSync add", protocol.SingleOrgSync, protocol.FlagAdd, ruleDebug, ruleKitAdd, (*checker).singleOrgSync)...)
	add(single(GroupKit, "allOrgSync", protocol.AllOrgSync, true, ruleDebug, (*checker).allOrgSync))
	add(k("authSync add", protocol.AuthSync, protocol.FlagAdd, ruleDebug, ruleKitAdd, (*checker).authSync)...)
	add(k("authSync delete", protocol.AuthSync, protocol.FlagDelete, ruleDebug, ruleKitDelete, (*checker).authSync)...)
	add(k("singleOrgSync delete", protocol.SingleOrgSync, protocol.FlagDelete, ruleDebug, ruleKitDelete, (*checker).singleOrgSync)...)
	add(k("applicationSync delete", protocol.ApplicationSync, protocol.FlagDelete, ruleDebug, ruleKitDelete, (*checker).applicationSync)...)
	add(k("tenantSync delete", protocol.TenantSync, protocol.FlagDelete, ruleDebug, ruleKitDelete, (*checker).tenantSync)...)
	add(single(GroupKit, "singleOrgSync delete never added", protocol.SingleOrgSync, true, ruleKitGone, (*checker).neverAddedOrg))
	add(step{group: GroupKit, name: "kit bad signature", activity: protocol.SingleOrgSync, unskippable: true, run: (*checker).kitBadSignature})
	return steps
}

func (c *checker) kitCommon() protocol.KitCommon {
	id := c.instanceID
	if id == "" {
		id = "DEBUG-INSTANCE-" + c.suffix
	}
	return protocol.KitCommon{
		InstanceID: id,
		TenantID:   "DEBUG-TENANT-" + c.suffix,
		TestFlag:   1,
		TimeStamp:  protocol.FormatMilli(c.cfg.Now(), c.client.Profile.KitTimeZone),
	}
}

func (c *checker) orgCode() string { return "DEBUG-ORG-" + c.suffix }
func (c *checker) appID() string   { return "DEBUG-APP-" + c.suffix }

func (c *checker) tenantSync(flag protocol.NumberFlag) protocol.Request {
	return &protocol.TenantSyncRequest{
		KitCommon: c.kitCommon(), OrderID: c.orderID, TenantCode: "debug-" + c.suffix,
		Name: "Debug Enterprise " + c.suffix, DomainName: "debug-" + c.suffix + ".example.com", Flag: flag,
	}
}

func (c *checker) applicationSync(flag protocol.NumberFlag) protocol.Request {
	req := &protocol.ApplicationSyncRequest{KitCommon: c.kitCommon(), AppID: c.appID(), ClientID: "debug-client-" + c.suffix, Flag: flag}
	if flag != protocol.FlagDelete {
		req.ClientSecret = c.encryptedSecret()
	}
	return req
}

func (c *checker) singleOrgSync(flag protocol.NumberFlag) protocol.Request {
	return &protocol.SingleOrgSyncRequest{KitCommon: c.kitCommon(), OrgCode: c.orgCode(), OrgName: "Debug department", Flag: flag}
}

func (c *checker) allOrgSync() protocol.Request {
	return &protocol.AllOrgSyncRequest{KitCommon: c.kitCommon(), OrgInfoList: []protocol.Org{
		{OrgCode: c.orgCode(), OrgName: "Debug department"},
		{OrgCode: c.orgCode() + "-TEAM", OrgName: "Debug team", ParentCode: c.orgCode()},
	}}
}

func (c *checker) authSync(flag protocol.NumberFlag) protocol.Request {
	return &protocol.AuthSyncRequest{
		KitCommon: c.kitCommon(), AppID: c.appID(), Flag: flag,
		CurrentSyncTime: protocol.FormatMilli(c.cfg.Now(), c.client.Profile.KitTimeZone),
		UserList: []protocol.User{{
			UserName: "debug.user", Name: "Debug User", OrgCode: c.orgCode(), Role: "admin", Enable: "true",
		}},
	}
}

func (c *checker) neverAddedOrg() protocol.Request {
	return &protocol.SingleOrgSyncRequest{KitCommon: c.kitCommon(), OrgCode: "DEBUG-ORG-NEVER-" + c.suffix, Flag: protocol.FlagDelete}
}

// kitBadSignature sends a kit call whose x-sign was made with another key.
func (c *checker) kitBadSignature() Result {
	req := c.neverAddedOrg()
	hreq, err := c.signed(c.client, req)
	if err != nil {
		return c.cannotBuild(err)
	}
	body, _ := protocol.Encode(req)
	hreq.Header.Set(protocol.HeaderSign, protocol.SignKit(c.cfg.Key+"-wrong", hreq.Header.Get(protocol.HeaderNonce), hreq.Header.Get(protocol.HeaderTimestamp), body))
	return c.expectCode(c.do(protocol.SingleOrgSync, hreq), protocol.CodeAuthFailed, "bad signature", "spec §2.2")
}

// encryptedSecret returns the clientSecret, encrypted once per run: the
// repeat must carry the same ciphertext, as a re-sent call does, or it
// would not be a repeat (RSA-OAEP is randomised).
func (c *checker) encryptedSecret() string {
	if c.clientSecret != "" {
		return c.clientSecret
	}
	pub := c.cfg.PublicKey
	if pub == nil {
		var err error
		if pub, err = checkerKey(); err != nil {
			c.buildErr = err
			return ""
		}
	}
	c.clientSecret, c.buildErr = c.client.Profile.EncryptClientSecret(pub, "debug-secret-"+c.suffix)
	return c.clientSecret
}

// checkerKey is the checker's own RSA key, made once per process: the dial
// test checks many products and each key takes a noticeable moment.
var checkerKey = sync.OnceValues(func() (*rsa.PublicKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		return nil, err
	}
	return &priv.PublicKey, nil
})
