package protocol

// Activity names one production interface: a basic activity sent to the
// production URL with "activity" in the body (§3, §3.1), or a kit interface
// sent to {productionURL}/produceAPI/v2/{name} (§4).
type Activity string

// Basic interfaces (§3).
const (
	NewInstance          Activity = "newInstance"
	QueryInstance        Activity = "queryInstance"
	RefreshInstance      Activity = "refreshInstance"
	UpdateInstanceStatus Activity = "updateInstanceStatus"
	ReleaseInstance      Activity = "releaseInstance"
	UpgradeInstance      Activity = "upgradeInstance"
	ChangeInstanceCheck  Activity = "changeInstanceCheck"
	OrderNotify          Activity = "orderNotify"
)

// Licence-code interfaces (§3.1), on the same URL as the basic ones.
const (
	RefreshLicenseCode      Activity = "refreshLicenseCode"
	UpdateLicenseCodeStatus Activity = "updateLicenseCodeStatus"
	ReleaseLicenseCode      Activity = "releaseLicenseCode"
)

// Kit interfaces (§4).
const (
	TenantSync      Activity = "tenantSync"
	ApplicationSync Activity = "applicationSync"
	AuthSync        Activity = "authSync"
	SingleOrgSync   Activity = "singleOrgSync"
	AllOrgSync      Activity = "allOrgSync"
)

// KitPathPrefix is the sub-path appended to the production URL for kit
// interfaces; the interface name follows it.
const KitPathPrefix = "/produceAPI/v2/"

// Activities lists every interface, basic first, in the order of the spec.
var Activities = []Activity{
	NewInstance, QueryInstance, RefreshInstance, UpdateInstanceStatus,
	ReleaseInstance, UpgradeInstance, ChangeInstanceCheck, OrderNotify,
	RefreshLicenseCode, UpdateLicenseCodeStatus, ReleaseLicenseCode,
	TenantSync, ApplicationSync, AuthSync, SingleOrgSync, AllOrgSync,
}

// Kit reports whether a is a kit interface (header-signed, own path).
func (a Activity) Kit() bool {
	switch a {
	case TenantSync, ApplicationSync, AuthSync, SingleOrgSync, AllOrgSync:
		return true
	}
	return false
}

// Known reports whether a is one of Activities.
func (a Activity) Known() bool {
	for _, k := range Activities {
		if a == k {
			return true
		}
	}
	return false
}
