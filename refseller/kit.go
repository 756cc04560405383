package refseller

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

// The kit interfaces (§4): an enterprise's tenant binding, app credential,
// authorised users and department tree, kept per instance.
//
// An add or modify is an upsert whose update is skipped when nothing
// differs, so a repeat changes nothing, not even updated_at. A delete of
// something absent answers ErrNotFound, which sellerkit.Idempotent turns
// into success (§7: a delete never fails because the thing is gone). The
// calls do not check that the instance exists: a delete must succeed after
// the instance is released, and the marketplace is the authority on which
// enterprise uses which instance.

func removal(flag protocol.NumberFlag) bool {
	return flag == protocol.FlagDelete || flag == protocol.FlagRevoke
}

// TenantSync binds, renames or unbinds an enterprise. Unbinding removes the
// enterprise's apps, users and departments of that instance with it.
func (n *notes) TenantSync(ctx context.Context, req *protocol.TenantSyncRequest) error {
	now := dbTime(n.now())
	err := n.inTx(ctx, func(tx *sql.Tx) error {
		if removal(req.Flag) {
			var gone int64
			for _, table := range []string{"tenants", "apps", "users", "orgs"} {
				res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE instance_id = ? AND tenant_id = ?`,
					req.InstanceID, req.TenantID)
				if err != nil {
					return err
				}
				k, _ := res.RowsAffected()
				gone += k
			}
			if gone == 0 {
				return sellerkit.ErrNotFound
			}
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants
			(instance_id, tenant_id, tenant_code, name, domain_name, order_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (instance_id, tenant_id) DO UPDATE SET tenant_code = excluded.tenant_code,
				name = excluded.name, domain_name = excluded.domain_name, order_id = excluded.order_id,
				updated_at = excluded.updated_at
			WHERE (tenant_code, name, domain_name, order_id) !=
				(excluded.tenant_code, excluded.name, excluded.domain_name, excluded.order_id)`,
			req.InstanceID, req.TenantID, req.TenantCode, req.Name, req.DomainName, req.OrderID, now, now)
		return err
	})
	return kitErr(err, "tenantSync", req.KitCommon, req.TenantCode)
}

// ApplicationSync keeps the app credential of an enterprise. The client
// secret stays RSA-encrypted as it came: a seller that used it would
// decrypt it with the private key of the public key it uploaded.
func (n *notes) ApplicationSync(ctx context.Context, req *protocol.ApplicationSyncRequest) error {
	var err error
	if removal(req.Flag) {
		err = n.deleteOne(ctx, `DELETE FROM apps WHERE instance_id = ? AND tenant_id = ? AND app_id = ?`,
			req.InstanceID, req.TenantID, req.AppID)
	} else {
		now := dbTime(n.now())
		_, err = n.db.ExecContext(ctx, `INSERT INTO apps
			(instance_id, tenant_id, app_id, client_id, client_secret, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (instance_id, tenant_id, app_id) DO UPDATE SET client_id = excluded.client_id,
				client_secret = excluded.client_secret, updated_at = excluded.updated_at
			WHERE (client_id, client_secret) != (excluded.client_id, excluded.client_secret)`,
			req.InstanceID, req.TenantID, req.AppID, req.ClientID, req.ClientSecret, now, now)
	}
	return kitErr(err, "applicationSync", req.KitCommon, req.AppID)
}

// AuthSync grants, changes or revokes users' access, keyed
// userName@tenantCode. The tenant code comes from the tenant's binding; an
// authSync that arrives before any tenantSync keys by tenantId instead.
func (n *notes) AuthSync(ctx context.Context, req *protocol.AuthSyncRequest) error {
	now := dbTime(n.now())
	err := n.inTx(ctx, func(tx *sql.Tx) error {
		tenantCode := req.TenantID
		err := tx.QueryRowContext(ctx, `SELECT tenant_code FROM tenants WHERE instance_id = ? AND tenant_id = ?`,
			req.InstanceID, req.TenantID).Scan(&tenantCode)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var gone int64
		for _, u := range req.UserList {
			key := u.UserName + "@" + tenantCode
			if removal(req.Flag) {
				res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE instance_id = ? AND app_id = ? AND user_key = ?`,
					req.InstanceID, req.AppID, key)
				if err != nil {
					return err
				}
				k, _ := res.RowsAffected()
				gone += k
				continue
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO users (instance_id, app_id, user_key, tenant_id, user_name,
				name, org_code, role, enable, position, employee_code, mobile, email, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (instance_id, app_id, user_key) DO UPDATE SET name = excluded.name,
					org_code = excluded.org_code, role = excluded.role, enable = excluded.enable,
					position = excluded.position, employee_code = excluded.employee_code,
					mobile = excluded.mobile, email = excluded.email, updated_at = excluded.updated_at
				WHERE (name, org_code, role, enable, position, employee_code, mobile, email) !=
					(excluded.name, excluded.org_code, excluded.role, excluded.enable, excluded.position,
					excluded.employee_code, excluded.mobile, excluded.email)`,
				req.InstanceID, req.AppID, key, req.TenantID, u.UserName, u.Name, u.OrgCode, u.Role, u.Enable,
				u.Position, u.EmployeeCode, u.Mobile, u.Email, now, now)
			if err != nil {
				return err
			}
		}
		if removal(req.Flag) && gone == 0 {
			return sellerkit.ErrNotFound
		}
		return nil
	})
	return kitErr(err, "authSync", req.KitCommon, req.AppID)
}

// SingleOrgSync adds, renames or removes one department. Removing one
// leaves its sub-departments in place: the marketplace sends their own
// removals or moves.
func (n *notes) SingleOrgSync(ctx context.Context, req *protocol.SingleOrgSyncRequest) error {
	var err error
	if removal(req.Flag) {
		err = n.deleteOne(ctx, `DELETE FROM orgs WHERE instance_id = ? AND tenant_id = ? AND org_code = ?`,
			req.InstanceID, req.TenantID, req.OrgCode)
	} else {
		err = upsertOrg(ctx, n.db, req.KitCommon, protocol.Org{OrgCode: req.OrgCode, OrgName: req.OrgName, ParentCode: req.ParentCode}, dbTime(n.now()))
	}
	return kitErr(err, "singleOrgSync", req.KitCommon, req.OrgCode)
}

// AllOrgSync replaces the enterprise's department tree with the one sent.
func (n *notes) AllOrgSync(ctx context.Context, req *protocol.AllOrgSyncRequest) error {
	now := dbTime(n.now())
	err := n.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM orgs WHERE instance_id = ? AND tenant_id = ?`, req.InstanceID, req.TenantID)
		if err != nil {
			return err
		}
		for _, o := range req.OrgInfoList {
			if err := upsertOrg(ctx, tx, req.KitCommon, o, now); err != nil {
				return err
			}
		}
		return nil
	})
	return kitErr(err, "allOrgSync", req.KitCommon, "")
}

func upsertOrg(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, c protocol.KitCommon, o protocol.Org, now string) error {
	_, err := db.ExecContext(ctx, `INSERT INTO orgs
		(instance_id, tenant_id, org_code, org_name, parent_code, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (instance_id, tenant_id, org_code) DO UPDATE SET org_name = excluded.org_name,
			parent_code = excluded.parent_code, updated_at = excluded.updated_at
		WHERE (org_name, parent_code) != (excluded.org_name, excluded.parent_code)`,
		c.InstanceID, c.TenantID, o.OrgCode, o.OrgName, o.ParentCode, now, now)
	return err
}

// deleteOne runs a DELETE and answers ErrNotFound when it removed nothing.
func (n *notes) deleteOne(ctx context.Context, query string, args ...any) error {
	res, err := n.db.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return sellerkit.ErrNotFound
	}
	return nil
}

// kitErr says which sync failed on what; wrapped, a sellerkit error still
// decides the answer.
func kitErr(err error, name string, c protocol.KitCommon, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s instance %s tenant %s %s: %w", name, c.InstanceID, c.TenantID, what, err)
}
