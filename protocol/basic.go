package protocol

import "strings"

// The basic interfaces (§3). Every body carries activity (added by Encode,
// not a field here) and testFlag. Times are yyyyMMddHHmmss in UTC.

// NewInstanceRequest asks the seller to provision an instance for an order
// line. BusinessID is new on every call; OrderID+OrderLineID identify the
// purchase, and a repeat must yield the same instance (§7).
type NewInstanceRequest struct {
	TestFlag    StringFlag `json:"testFlag"`
	BusinessID  string     `json:"businessId"`
	OrderID     string     `json:"orderId"`
	OrderLineID string     `json:"orderLineId"`
}

func (*NewInstanceRequest) Activity() Activity { return NewInstance }
func (r *NewInstanceRequest) Validate() error {
	var f fields
	f.required("businessId", r.BusinessID)
	f.required("orderId", r.OrderID)
	f.required("orderLineId", r.OrderLineID)
	return f.result()
}

// QueryInstanceRequest asks for the state of up to 100 instances.
type QueryInstanceRequest struct {
	TestFlag StringFlag `json:"testFlag"`
	// InstanceID is a comma-separated list; see IDs.
	InstanceID string `json:"instanceId"`
}

func (*QueryInstanceRequest) Activity() Activity { return QueryInstance }
func (r *QueryInstanceRequest) Validate() error {
	var f fields
	f.required("instanceId", r.InstanceID)
	if n := len(r.IDs()); n == 0 {
		f.fail("instanceId", "has no instance id")
	} else if n > Default.MaxQueryInstanceIDs {
		f.fail("instanceId", "has %d ids, at most %d allowed", n, Default.MaxQueryInstanceIDs)
	}
	return f.result()
}

// IDs returns the instance ids of the query, without blanks.
func (r *QueryInstanceRequest) IDs() []string {
	var ids []string
	for _, id := range strings.Split(r.InstanceID, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// Scenes of refreshInstance and refreshLicenseCode.
const (
	SceneTrialToFormal            = "TRIAL_TO_FORMAL"
	SceneRenewal                  = "RENEWAL"
	SceneUnsubscribeRenewalPeriod = "UNSUBSCRIBE_RENEWAL_PERIOD"
	SceneRenewalChange            = "RENEWAL_CHANGE"
)

// RefreshInstanceRequest tells the seller an instance's expiry changed.
type RefreshInstanceRequest struct {
	TestFlag    StringFlag `json:"testFlag"`
	Scene       string     `json:"scene"`
	OrderID     string     `json:"orderId"`
	OrderLineID string     `json:"orderLineId"`
	InstanceID  string     `json:"instanceId"`
	ProductID   string     `json:"productId,omitempty"`
	ExpireTime  string     `json:"expireTime"`
}

func (*RefreshInstanceRequest) Activity() Activity { return RefreshInstance }
func (r *RefreshInstanceRequest) Validate() error {
	var f fields
	f.oneOf("scene", r.Scene, SceneTrialToFormal, SceneRenewal, SceneUnsubscribeRenewalPeriod, SceneRenewalChange)
	f.required("orderId", r.OrderID)
	f.required("orderLineId", r.OrderLineID)
	f.required("instanceId", r.InstanceID)
	f.time("expireTime", r.ExpireTime)
	return f.result()
}

// Instance and licence statuses of updateInstanceStatus and
// updateLicenseCodeStatus.
const (
	StatusFreeze   = "FREEZE"
	StatusUnfreeze = "UNFREEZE"
)

// UpdateInstanceStatusRequest freezes or unfreezes an instance.
type UpdateInstanceStatusRequest struct {
	TestFlag   StringFlag `json:"testFlag"`
	InstanceID string     `json:"instanceId"`
	Status     string     `json:"status"`
}

func (*UpdateInstanceStatusRequest) Activity() Activity { return UpdateInstanceStatus }
func (r *UpdateInstanceStatusRequest) Validate() error {
	var f fields
	f.required("instanceId", r.InstanceID)
	f.oneOf("status", r.Status, StatusFreeze, StatusUnfreeze)
	return f.result()
}

// ReleaseInstanceRequest releases an instance. OrderID and OrderLineID are
// set when an unsubscription caused it.
type ReleaseInstanceRequest struct {
	TestFlag    StringFlag `json:"testFlag"`
	InstanceID  string     `json:"instanceId"`
	OrderID     string     `json:"orderId,omitempty"`
	OrderLineID string     `json:"orderLineId,omitempty"`
}

func (*ReleaseInstanceRequest) Activity() Activity { return ReleaseInstance }
func (r *ReleaseInstanceRequest) Validate() error {
	var f fields
	f.required("instanceId", r.InstanceID)
	return f.result()
}

// UpgradeInstanceRequest moves an instance (same id) to the spec of a new
// order line.
type UpgradeInstanceRequest struct {
	TestFlag    StringFlag `json:"testFlag"`
	InstanceID  string     `json:"instanceId"`
	OrderID     string     `json:"orderId"`
	OrderLineID string     `json:"orderLineId"`
}

func (*UpgradeInstanceRequest) Activity() Activity { return UpgradeInstance }
func (r *UpgradeInstanceRequest) Validate() error {
	var f fields
	f.required("instanceId", r.InstanceID)
	f.required("orderId", r.OrderID)
	f.required("orderLineId", r.OrderLineID)
	return f.result()
}

// ProductInfo is the spec an instance would change to.
type ProductInfo struct {
	ProductID   string `json:"productId"`
	SKUCode     string `json:"skuCode"`
	LinearValue *int64 `json:"linearValue,omitempty"`
	ProductName string `json:"productName"`
}

// ChangeInstanceCheckRequest asks whether an instance may change spec; a
// refusal means the change would lose data.
type ChangeInstanceCheckRequest struct {
	TestFlag    StringFlag  `json:"testFlag"`
	InstanceID  string      `json:"instanceId"`
	ProductInfo ProductInfo `json:"productInfo"`
}

func (*ChangeInstanceCheckRequest) Activity() Activity { return ChangeInstanceCheck }
func (r *ChangeInstanceCheckRequest) Validate() error {
	var f fields
	f.required("instanceId", r.InstanceID)
	f.required("productInfo.productId", r.ProductInfo.ProductID)
	f.required("productInfo.skuCode", r.ProductInfo.SKUCode)
	return f.result()
}

// OrderNotifyRequest tells the seller an order exists; the seller reads it
// through the open API.
type OrderNotifyRequest struct {
	TestFlag    StringFlag `json:"testFlag"`
	OrderID     string     `json:"orderId"`
	OrderLineID string     `json:"orderLineId"`
}

func (*OrderNotifyRequest) Activity() Activity { return OrderNotify }
func (r *OrderNotifyRequest) Validate() error {
	var f fields
	f.required("orderId", r.OrderID)
	f.required("orderLineId", r.OrderLineID)
	return f.result()
}

// RefreshLicenseCodeRequest tells the seller a licence code's expiry changed
// (§3.1).
type RefreshLicenseCodeRequest struct {
	TestFlag    StringFlag `json:"testFlag"`
	Scene       string     `json:"scene"`
	OrderID     string     `json:"orderId"`
	OrderLineID string     `json:"orderLineId"`
	License     string     `json:"license"`
	ProductID   string     `json:"productId,omitempty"`
	ExpireTime  string     `json:"expireTime"`
}

func (*RefreshLicenseCodeRequest) Activity() Activity { return RefreshLicenseCode }
func (r *RefreshLicenseCodeRequest) Validate() error {
	var f fields
	f.oneOf("scene", r.Scene, SceneRenewal, SceneUnsubscribeRenewalPeriod)
	f.required("orderId", r.OrderID)
	f.required("orderLineId", r.OrderLineID)
	f.required("license", r.License)
	f.time("expireTime", r.ExpireTime)
	return f.result()
}

// UpdateLicenseCodeStatusRequest freezes or unfreezes a licence code.
type UpdateLicenseCodeStatusRequest struct {
	TestFlag StringFlag `json:"testFlag"`
	License  string     `json:"license"`
	Status   string     `json:"status"`
}

func (*UpdateLicenseCodeStatusRequest) Activity() Activity { return UpdateLicenseCodeStatus }
func (r *UpdateLicenseCodeStatusRequest) Validate() error {
	var f fields
	f.required("license", r.License)
	f.oneOf("status", r.Status, StatusFreeze, StatusUnfreeze)
	return f.result()
}

// ReleaseLicenseCodeRequest releases a licence code.
type ReleaseLicenseCodeRequest struct {
	TestFlag    StringFlag `json:"testFlag"`
	License     string     `json:"license"`
	OrderID     string     `json:"orderId,omitempty"`
	OrderLineID string     `json:"orderLineId,omitempty"`
}

func (*ReleaseLicenseCodeRequest) Activity() Activity { return ReleaseLicenseCode }
func (r *ReleaseLicenseCodeRequest) Validate() error {
	var f fields
	f.required("license", r.License)
	return f.result()
}
