package conformance

import "github.com/souk-market/souk/protocol"

var licenceActivities = []protocol.Activity{protocol.RefreshLicenseCode, protocol.UpdateLicenseCodeStatus, protocol.ReleaseLicenseCode}

// licenceSteps exercise the licence-code interfaces (§3.1) on a made-up
// debug licence code: they do not need an instance.
func licenceSteps() []step {
	license := func(c *checker) string { return "DEBUG-LICENSE-" + c.suffix }
	steps := pair(GroupLicence, "refreshLicenseCode RENEWAL", protocol.RefreshLicenseCode, false, ruleDebug, ruleRepeat, func(c *checker) protocol.Request {
		return &protocol.RefreshLicenseCodeRequest{
			TestFlag: 1, Scene: protocol.SceneRenewal,
			OrderID: "DEBUG-RENEW-" + c.suffix, OrderLineID: "DEBUG-RENEW-LINE-" + c.suffix,
			License: license(c), ExpireTime: c.expireTime,
		}
	})
	for _, status := range []string{protocol.StatusFreeze, protocol.StatusUnfreeze} {
		steps = append(steps, pair(GroupLicence, "updateLicenseCodeStatus "+status, protocol.UpdateLicenseCodeStatus, false, ruleDebug, ruleRepeat, func(c *checker) protocol.Request {
			return &protocol.UpdateLicenseCodeStatusRequest{TestFlag: 1, License: license(c), Status: status}
		})...)
	}
	return append(steps, pair(GroupLicence, "releaseLicenseCode", protocol.ReleaseLicenseCode, false, ruleDebug, ruleRepeat, func(c *checker) protocol.Request {
		return &protocol.ReleaseLicenseCodeRequest{TestFlag: 1, License: license(c), OrderID: c.orderID, OrderLineID: c.orderLineID}
	})...)
}
