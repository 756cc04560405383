package sellerkit

import (
	"context"
	"errors"

	"github.com/souk-market/souk/protocol"
)

// Seller is the seller's side of the production interfaces: one method per
// interface. Methods return nil for success or an error that the handler
// maps to a result code (see Error). Secrets in AppInfo are returned in
// plain text; the handler encrypts them on the wire.
type Seller interface {
	NewInstance(ctx context.Context, req *protocol.NewInstanceRequest) (*Instance, error)
	QueryInstance(ctx context.Context, req *protocol.QueryInstanceRequest) ([]protocol.InstanceInfo, error)
	RefreshInstance(ctx context.Context, req *protocol.RefreshInstanceRequest) error
	UpdateInstanceStatus(ctx context.Context, req *protocol.UpdateInstanceStatusRequest) error
	ReleaseInstance(ctx context.Context, req *protocol.ReleaseInstanceRequest) error
	UpgradeInstance(ctx context.Context, req *protocol.UpgradeInstanceRequest) error
	ChangeInstanceCheck(ctx context.Context, req *protocol.ChangeInstanceCheckRequest) error
	OrderNotify(ctx context.Context, req *protocol.OrderNotifyRequest) error

	RefreshLicenseCode(ctx context.Context, req *protocol.RefreshLicenseCodeRequest) error
	UpdateLicenseCodeStatus(ctx context.Context, req *protocol.UpdateLicenseCodeStatusRequest) error
	ReleaseLicenseCode(ctx context.Context, req *protocol.ReleaseLicenseCodeRequest) error

	TenantSync(ctx context.Context, req *protocol.TenantSyncRequest) error
	ApplicationSync(ctx context.Context, req *protocol.ApplicationSyncRequest) error
	AuthSync(ctx context.Context, req *protocol.AuthSyncRequest) error
	SingleOrgSync(ctx context.Context, req *protocol.SingleOrgSyncRequest) error
	AllOrgSync(ctx context.Context, req *protocol.AllOrgSyncRequest) error
}

// Instance is what NewInstance returns: the instance id and how the buyer
// reaches it. A Pending instance is still provisioning: the handler answers
// 000004 with the id, and QueryInstance reports it ready later.
type Instance struct {
	ID      string
	AppInfo *protocol.AppInfo
	Pending bool
}

// ErrNotSupported is returned by the Unimplemented methods: the seller does
// not offer that (optional) interface. It is answered with 000002.
var ErrNotSupported = errors.New("interface not supported by this seller")

// Unimplemented answers every interface with ErrNotSupported. Embed it in a
// Seller and override the methods the seller offers.
type Unimplemented struct{}

func (Unimplemented) NewInstance(context.Context, *protocol.NewInstanceRequest) (*Instance, error) {
	return nil, ErrNotSupported
}
func (Unimplemented) QueryInstance(context.Context, *protocol.QueryInstanceRequest) ([]protocol.InstanceInfo, error) {
	return nil, ErrNotSupported
}
func (Unimplemented) RefreshInstance(context.Context, *protocol.RefreshInstanceRequest) error {
	return ErrNotSupported
}
func (Unimplemented) UpdateInstanceStatus(context.Context, *protocol.UpdateInstanceStatusRequest) error {
	return ErrNotSupported
}
func (Unimplemented) ReleaseInstance(context.Context, *protocol.ReleaseInstanceRequest) error {
	return ErrNotSupported
}
func (Unimplemented) UpgradeInstance(context.Context, *protocol.UpgradeInstanceRequest) error {
	return ErrNotSupported
}
func (Unimplemented) ChangeInstanceCheck(context.Context, *protocol.ChangeInstanceCheckRequest) error {
	return ErrNotSupported
}
func (Unimplemented) OrderNotify(context.Context, *protocol.OrderNotifyRequest) error {
	return ErrNotSupported
}
func (Unimplemented) RefreshLicenseCode(context.Context, *protocol.RefreshLicenseCodeRequest) error {
	return ErrNotSupported
}
func (Unimplemented) UpdateLicenseCodeStatus(context.Context, *protocol.UpdateLicenseCodeStatusRequest) error {
	return ErrNotSupported
}
func (Unimplemented) ReleaseLicenseCode(context.Context, *protocol.ReleaseLicenseCodeRequest) error {
	return ErrNotSupported
}
func (Unimplemented) TenantSync(context.Context, *protocol.TenantSyncRequest) error {
	return ErrNotSupported
}
func (Unimplemented) ApplicationSync(context.Context, *protocol.ApplicationSyncRequest) error {
	return ErrNotSupported
}
func (Unimplemented) AuthSync(context.Context, *protocol.AuthSyncRequest) error {
	return ErrNotSupported
}
func (Unimplemented) SingleOrgSync(context.Context, *protocol.SingleOrgSyncRequest) error {
	return ErrNotSupported
}
func (Unimplemented) AllOrgSync(context.Context, *protocol.AllOrgSyncRequest) error {
	return ErrNotSupported
}
