package refseller

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

// Licence codes (License 2.0, §3.1). The marketplace issues a code to the
// buyer, and the seller first hears of it when its software activates the
// code through the open API. The reference seller's "software" is
// POST /control/licenses (see server.go), which records a code as active;
// the production interfaces then renew, freeze and release it.
//
// Debug calls (testFlag 1) are the exception: the marketplace's debug cases
// name made-up codes that no software ever activated, and they must pass,
// and pass again when repeated (§7, §9). So a debug call about a code the
// seller does not know, or about a debug code it released, registers the
// code as an active debug licence first. Real calls never see debug codes
// revived, and a real call about an unknown code answers 000003.

// licenceStates are the states of the licences table, per status of
// updateLicenseCodeStatus.
var licenceStates = map[string]string{protocol.StatusFreeze: "frozen", protocol.StatusUnfreeze: "active"}

// activateLicence records code as activated, expiring at expireTime
// (yyyyMMddHHmmss, may be empty). Activating it again changes nothing; a
// released code cannot come back.
func (n *notes) activateLicence(ctx context.Context, code, expireTime string) error {
	now := dbTime(n.now())
	_, err := n.db.ExecContext(ctx, `INSERT INTO licences (code, state, expire_time, created_at, updated_at)
		VALUES (?, 'active', ?, ?, ?) ON CONFLICT DO NOTHING`, code, expireTime, now, now)
	if err != nil {
		return fmt.Errorf("activate licence code %s: %w", code, err)
	}
	state, err := n.licenceState(ctx, code)
	if err != nil {
		return err
	}
	if state == stateReleased {
		return fmt.Errorf("licence code %s was released", code)
	}
	return nil
}

// debugLicence registers code as an active debug licence for a debug call,
// unless the seller knows it already (and, if it is a debug licence, has
// not released it).
func (n *notes) debugLicence(ctx context.Context, code string, testFlag protocol.StringFlag) error {
	if testFlag != 1 {
		return nil
	}
	now := dbTime(n.now())
	_, err := n.db.ExecContext(ctx, `INSERT INTO licences (code, state, test_flag, created_at, updated_at)
		VALUES (?, 'active', 1, ?, ?)
		ON CONFLICT (code) DO UPDATE SET state = 'active', updated_at = excluded.updated_at
		WHERE test_flag = 1 AND state = 'released'`, code, now, now)
	if err != nil {
		return fmt.Errorf("debug licence code %s: %w", code, err)
	}
	return nil
}

// RefreshLicenseCode records the licence's new expiry and order line.
func (n *notes) RefreshLicenseCode(ctx context.Context, req *protocol.RefreshLicenseCodeRequest) error {
	if err := n.debugLicence(ctx, req.License, req.TestFlag); err != nil {
		return err
	}
	if _, err := n.usableLicence(ctx, req.License); err != nil {
		return err
	}
	_, err := n.db.ExecContext(ctx, `UPDATE licences SET expire_time = ?, order_id = ?, order_line_id = ?,
		product_id = COALESCE(NULLIF(?, ''), product_id), updated_at = ? WHERE code = ?`,
		req.ExpireTime, req.OrderID, req.OrderLineID, req.ProductID, dbTime(n.now()), req.License)
	if err != nil {
		return fmt.Errorf("refresh licence code %s: %w", req.License, err)
	}
	return nil
}

// UpdateLicenseCodeStatus freezes or unfreezes a licence; one already in
// that state is left alone.
func (n *notes) UpdateLicenseCodeStatus(ctx context.Context, req *protocol.UpdateLicenseCodeStatusRequest) error {
	if err := n.debugLicence(ctx, req.License, req.TestFlag); err != nil {
		return err
	}
	state, err := n.usableLicence(ctx, req.License)
	if err != nil {
		return err
	}
	want := licenceStates[req.Status]
	if state == want {
		return nil
	}
	return n.setLicenceState(ctx, req.License, want)
}

// ReleaseLicenseCode releases a licence. One already released succeeds;
// one never activated answers ErrNotFound, which sellerkit.Idempotent
// turns into success: there is nothing left to release.
func (n *notes) ReleaseLicenseCode(ctx context.Context, req *protocol.ReleaseLicenseCodeRequest) error {
	state, err := n.licenceState(ctx, req.License)
	switch {
	case err != nil:
		return err
	case state == "":
		return sellerkit.ErrNotFound
	case state == stateReleased:
		return nil
	}
	return n.setLicenceState(ctx, req.License, stateReleased)
}

// licenceState returns the state of code, "" if the seller does not know it.
func (n *notes) licenceState(ctx context.Context, code string) (string, error) {
	var state string
	err := n.db.QueryRowContext(ctx, `SELECT state FROM licences WHERE code = ?`, code).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("load licence code %s: %w", code, err)
	}
	return state, nil
}

// usableLicence returns the state of a licence that a call may change,
// else 000003 saying why.
func (n *notes) usableLicence(ctx context.Context, code string) (string, error) {
	state, err := n.licenceState(ctx, code)
	switch {
	case err != nil:
		return "", err
	case state == "":
		return "", sellerkit.Errorf(protocol.CodeInstanceNotFound, "licence code %s does not exist: it was never activated", code)
	case state == stateReleased:
		return "", sellerkit.Errorf(protocol.CodeInstanceNotFound, "licence code %s was released", code)
	}
	return state, nil
}

func (n *notes) setLicenceState(ctx context.Context, code, state string) error {
	_, err := n.db.ExecContext(ctx, `UPDATE licences SET state = ?, updated_at = ? WHERE code = ?`, state, dbTime(n.now()), code)
	if err != nil {
		return fmt.Errorf("licence code %s to %s: %w", code, state, err)
	}
	return nil
}
