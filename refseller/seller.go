package refseller

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

// Instance states in the instances table.
const (
	stateProvisioning = "provisioning"
	stateActive       = "active"
	stateFrozen       = "frozen"
	stateReleased     = "released"
)

// DowngradeSKU is the skuCode that changeInstanceCheck refuses: a change
// to it would lose data. Every other spec change is accepted.
const DowngradeSKU = "downgrade-loses-data"

// notes is Souk Notes, the seller's own code behind sellerkit: the basic
// interfaces here, the licence ones in license.go, the kit ones in kit.go.
// It is correct on repeats by itself (a second newInstance for an order
// finds the first instance, a second release finds it released), so it
// stays right even when the idempotency Store lost a record.
type notes struct {
	db    *sql.DB
	now   func() time.Time
	async time.Duration
	// addr is the host:port buyers reach the seller at, for the URLs in
	// appInfo; it is read per call because it is known only once the
	// server listens.
	addr func() string
	// market calls the marketplace's open API; nil when not configured
	// (market.go).
	market *sellerkit.OpenAPIClient
}

// instance is one row of the instances table.
type instance struct {
	ID, OrderID, OrderLineID string
	State                    string
	ReadyAt                  time.Time
	ExpireTime, ProductID    string
	UserName, Password       string
	CreatedAt, UpdatedAt     time.Time
}

func (n *notes) frontEndURL(id string) string { return "http://" + n.addr() + "/app/" + id }
func (n *notes) adminURL(id string) string    { return n.frontEndURL(id) + "/admin" }

// appInfo is how the buyer reaches inst. The credentials go out in plain
// text here; the sellerkit handler encrypts them on the wire.
func (n *notes) appInfo(inst *instance) *protocol.AppInfo {
	return &protocol.AppInfo{
		FrontEndURL: n.frontEndURL(inst.ID),
		AdminURL:    n.adminURL(inst.ID),
		UserName:    inst.UserName,
		Password:    inst.Password,
		Memo:        "Souk Notes workspace for order " + inst.OrderID + " line " + inst.OrderLineID,
	}
}

// NewInstance creates the instance of a purchase, or finds the one created
// for it before: orderId+orderLineId is unique in the table, so a repeat can
// never create a second instance. With Config.Async the instance is still
// provisioning when this returns, and the handler answers 000004.
func (n *notes) NewInstance(ctx context.Context, req *protocol.NewInstanceRequest) (*sellerkit.Instance, error) {
	var line *sellerkit.OrderLine
	if n.market != nil && req.TestFlag != 1 {
		var err error
		if line, err = n.orderLine(ctx, req.OrderID, req.OrderLineID); err != nil {
			return nil, err
		}
	}
	now := n.now()
	state, readyAt := stateActive, now
	if n.async > 0 {
		state, readyAt = stateProvisioning, now.Add(n.async)
	}
	err := n.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO instances
			(id, order_id, order_line_id, business_id, test_flag, state, ready_at, user_name, password, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (order_id, order_line_id) DO NOTHING`,
			newID("ins-"), req.OrderID, req.OrderLineID, req.BusinessID, int(req.TestFlag), state,
			dbTime(readyAt), "admin-"+newID("")[:8], rand.Text(), dbTime(now), dbTime(now))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO instance_orders (instance_id, order_id, order_line_id, event, created_at)
			SELECT id, order_id, order_line_id, 'newInstance', ? FROM instances WHERE order_id = ? AND order_line_id = ?
			ON CONFLICT DO NOTHING`, dbTime(now), req.OrderID, req.OrderLineID)
		if err == nil && line != nil {
			err = recordOrderLine(ctx, tx, req.OrderID, req.OrderLineID, line)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("new instance for order %s line %s: %w", req.OrderID, req.OrderLineID, err)
	}
	var id string
	err = n.db.QueryRowContext(ctx, `SELECT id FROM instances WHERE order_id = ? AND order_line_id = ?`,
		req.OrderID, req.OrderLineID).Scan(&id)
	if err != nil {
		return nil, fmt.Errorf("new instance for order %s line %s: %w", req.OrderID, req.OrderLineID, err)
	}
	inst, err := n.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if inst.State == stateProvisioning {
		return &sellerkit.Instance{ID: inst.ID, Pending: true}, nil
	}
	return &sellerkit.Instance{ID: inst.ID, AppInfo: n.appInfo(inst)}, nil
}

// QueryInstance reports the instances asked for that exist and are not
// released; unknown ids are left out, and ErrNotFound (000003) answers a
// query that found none. A provisioning instance comes without appInfo;
// an active one with its usage: the seats in use, the generated account
// plus the enabled users authorised through authSync.
func (n *notes) QueryInstance(ctx context.Context, req *protocol.QueryInstanceRequest) ([]protocol.InstanceInfo, error) {
	ids := unique(req.IDs())
	if err := n.promote(ctx, ids...); err != nil {
		return nil, err
	}
	in, args := inList(ids)
	rows, err := n.db.QueryContext(ctx, `SELECT `+instanceColumns+` FROM instances
		WHERE state != 'released' AND id IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("query instances: %w", err)
	}
	found := make(map[string]*instance)
	for rows.Next() {
		inst, err := scanInstance(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		found[inst.ID] = inst
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("query instances: %w", err)
	}
	if len(found) == 0 {
		return nil, sellerkit.ErrNotFound
	}
	seats, err := n.seats(ctx, ids)
	if err != nil {
		return nil, err
	}
	now := n.now()
	infos := make([]protocol.InstanceInfo, 0, len(found))
	for _, id := range ids {
		inst, ok := found[id]
		if !ok {
			continue
		}
		info := protocol.InstanceInfo{InstanceID: id}
		if inst.State != stateProvisioning {
			info.AppInfo = n.appInfo(inst)
		}
		if inst.State == stateActive {
			info.UsageInfo = []protocol.Usage{{
				RelatedInstanceID: id,
				UsageValue:        strconv.Itoa(1 + seats[id]),
				StatisticalTime:   protocol.FormatMilli(now, time.UTC),
				DashboardURL:      n.adminURL(id),
			}}
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// seats counts the enabled kit users of each instance.
func (n *notes) seats(ctx context.Context, ids []string) (map[string]int, error) {
	in, args := inList(ids)
	rows, err := n.db.QueryContext(ctx, `SELECT instance_id, COUNT(*) FROM users
		WHERE enable = 'true' AND instance_id IN (`+in+`) GROUP BY instance_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("count seats: %w", err)
	}
	defer rows.Close()
	seats := make(map[string]int)
	for rows.Next() {
		var id string
		var count int
		if err := rows.Scan(&id, &count); err != nil {
			return nil, fmt.Errorf("count seats: %w", err)
		}
		seats[id] = count
	}
	return seats, rows.Err()
}

// RefreshInstance records the new expiry (and product, when the call
// names one). It does not change the state: an expired instance that was
// frozen is unfrozen by its own updateInstanceStatus.
func (n *notes) RefreshInstance(ctx context.Context, req *protocol.RefreshInstanceRequest) error {
	if _, err := n.loadUsable(ctx, req.InstanceID); err != nil {
		return err
	}
	now := dbTime(n.now())
	err := n.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE instances SET expire_time = ?,
			product_id = COALESCE(NULLIF(?, ''), product_id), updated_at = ?
			WHERE id = ? AND (expire_time != ? OR (? != '' AND product_id != ?))`,
			req.ExpireTime, req.ProductID, now, req.InstanceID, req.ExpireTime, req.ProductID, req.ProductID)
		if err != nil {
			return err
		}
		return recordOrder(ctx, tx, req.InstanceID, req.OrderID, req.OrderLineID, "refresh:"+req.Scene, now)
	})
	if err != nil {
		return fmt.Errorf("refresh instance %s: %w", req.InstanceID, err)
	}
	return nil
}

// UpdateInstanceStatus freezes or unfreezes an instance; one already in
// that state is left alone. A released instance answers 000003: it no
// longer exists for the buyer, and unfreezing it would resurrect it. An
// instance still provisioning answers 000005, which the marketplace
// retries, by which time it is ready.
func (n *notes) UpdateInstanceStatus(ctx context.Context, req *protocol.UpdateInstanceStatusRequest) error {
	inst, err := n.loadUsable(ctx, req.InstanceID)
	if err != nil {
		return err
	}
	if inst.State == stateProvisioning {
		return sellerkit.Errorf(protocol.CodeInternal, "instance %s is still provisioning; retry when it is ready", inst.ID)
	}
	want := stateActive
	if req.Status == protocol.StatusFreeze {
		want = stateFrozen
	}
	if inst.State == want {
		return nil
	}
	return n.setState(ctx, inst.ID, want)
}

// ReleaseInstance marks the instance released (the row stays, so a repeat
// finds it released and succeeds). An unknown instance answers
// ErrNotFound, which sellerkit.Idempotent turns into success: already gone.
func (n *notes) ReleaseInstance(ctx context.Context, req *protocol.ReleaseInstanceRequest) error {
	inst, err := n.load(ctx, req.InstanceID)
	if err != nil {
		return err
	}
	if inst == nil {
		return sellerkit.ErrNotFound
	}
	if inst.State == stateReleased {
		return nil
	}
	now := dbTime(n.now())
	err = n.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET state = 'released', updated_at = ? WHERE id = ?`, now, inst.ID); err != nil {
			return err
		}
		if req.OrderID == "" {
			return nil
		}
		return recordOrder(ctx, tx, inst.ID, req.OrderID, req.OrderLineID, "release", now)
	})
	if err != nil {
		return fmt.Errorf("release instance %s: %w", inst.ID, err)
	}
	return nil
}

// UpgradeInstance records the order line the instance now belongs to. The
// notes app has one feature set, so there is nothing else to change.
func (n *notes) UpgradeInstance(ctx context.Context, req *protocol.UpgradeInstanceRequest) error {
	if _, err := n.loadUsable(ctx, req.InstanceID); err != nil {
		return err
	}
	now := dbTime(n.now())
	err := n.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET updated_at = ? WHERE id = ?`, now, req.InstanceID); err != nil {
			return err
		}
		return recordOrder(ctx, tx, req.InstanceID, req.OrderID, req.OrderLineID, "upgrade", now)
	})
	if err != nil {
		return fmt.Errorf("upgrade instance %s: %w", req.InstanceID, err)
	}
	return nil
}

// ChangeInstanceCheck accepts every spec change except one to DowngradeSKU,
// which it refuses with 000002 and says why, as a seller whose smaller spec
// cannot hold the buyer's data would.
func (n *notes) ChangeInstanceCheck(ctx context.Context, req *protocol.ChangeInstanceCheckRequest) error {
	if _, err := n.loadUsable(ctx, req.InstanceID); err != nil {
		return err
	}
	if req.ProductInfo.SKUCode == DowngradeSKU {
		return sellerkit.Errorf(protocol.CodeInvalidParam,
			"instance %s cannot change to sku %s of product %s: the smaller spec cannot hold its notes, the change would lose data",
			req.InstanceID, req.ProductInfo.SKUCode, req.ProductInfo.ProductID)
	}
	return nil
}

// OrderNotify records the notice once. A full seller would now read the
// order through the open API; the reference seller has no API credentials.
func (n *notes) OrderNotify(ctx context.Context, req *protocol.OrderNotifyRequest) error {
	_, err := n.db.ExecContext(ctx, `INSERT INTO order_notices (order_id, order_line_id, test_flag, received_at)
		VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, req.OrderID, req.OrderLineID, int(req.TestFlag), dbTime(n.now()))
	if err != nil {
		return fmt.Errorf("record order notice %s line %s: %w", req.OrderID, req.OrderLineID, err)
	}
	return nil
}

const instanceColumns = `id, order_id, order_line_id, state, ready_at, expire_time, product_id,
	user_name, password, created_at, updated_at`

func scanInstance(row interface{ Scan(...any) error }) (*instance, error) {
	var inst instance
	var readyAt, created, updated string
	err := row.Scan(&inst.ID, &inst.OrderID, &inst.OrderLineID, &inst.State, &readyAt, &inst.ExpireTime,
		&inst.ProductID, &inst.UserName, &inst.Password, &created, &updated)
	if err != nil {
		return nil, err
	}
	inst.ReadyAt, _ = parseDBTime(readyAt)
	inst.CreatedAt, _ = parseDBTime(created)
	inst.UpdatedAt, _ = parseDBTime(updated)
	return &inst, nil
}

// load returns the instance id, or nil if there is none, after finishing
// its provisioning if that is due.
func (n *notes) load(ctx context.Context, id string) (*instance, error) {
	if err := n.promote(ctx, id); err != nil {
		return nil, err
	}
	inst, err := scanInstance(n.db.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("load instance %s: %w", id, err)
	}
	return inst, nil
}

// loadUsable loads an instance that a call may change: one that exists
// and is not released, else 000003 saying which.
func (n *notes) loadUsable(ctx context.Context, id string) (*instance, error) {
	inst, err := n.load(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case inst == nil:
		return nil, sellerkit.Errorf(protocol.CodeInstanceNotFound, "instance %s does not exist", id)
	case inst.State == stateReleased:
		return nil, sellerkit.Errorf(protocol.CodeInstanceNotFound, "instance %s was released", id)
	}
	return inst, nil
}

// promote finishes the provisioning of those of ids whose time has come.
// Provisioning has nothing to do but wait, so it is done lazily, whenever
// an instance is looked at, rather than by a background job.
func (n *notes) promote(ctx context.Context, ids ...string) error {
	if n.async <= 0 || len(ids) == 0 {
		return nil
	}
	now := dbTime(n.now())
	in, args := inList(ids)
	_, err := n.db.ExecContext(ctx, `UPDATE instances SET state = 'active', updated_at = ?
		WHERE state = 'provisioning' AND ready_at <= ? AND id IN (`+in+`)`, append([]any{now, now}, args...)...)
	if err != nil {
		return fmt.Errorf("finish provisioning: %w", err)
	}
	return nil
}

func (n *notes) setState(ctx context.Context, id, state string) error {
	_, err := n.db.ExecContext(ctx, `UPDATE instances SET state = ?, updated_at = ? WHERE id = ?`, state, dbTime(n.now()), id)
	if err != nil {
		return fmt.Errorf("instance %s to %s: %w", id, state, err)
	}
	return nil
}

func recordOrder(ctx context.Context, tx *sql.Tx, instanceID, orderID, orderLineID, event, now string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO instance_orders (instance_id, order_id, order_line_id, event, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, instanceID, orderID, orderLineID, event, now)
	return err
}

// inTx runs fn in a transaction (an immediate one: sqlitestore opens the
// database with _txlock=immediate).
func (n *notes) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := n.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// newID returns prefix and 16 random hex digits.
func newID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// unique returns ids without repeats, in their first order.
func unique(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
