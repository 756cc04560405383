package refseller

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

// The seller's calls to the marketplace's open API (protocol.md §6), made
// when Config.Market and the API credential are set:
//
//   - newInstance first queries the order (GET /api/v1/order/query) to
//     confirm the purchase is real and learn its product, spec (skuCode)
//     and charging mode, kept on the instance. Debug calls (testFlag 1)
//     name made-up orders and are not queried. An order the marketplace
//     does not know is refused (000002); a failed query answers 000005 so
//     that the marketplace retries.
//   - POST /control/usage (X-Control-Key) pushes one usage record of a
//     pay-per-use instance: {"instanceId":"ins-…","value":"2.5"}, with
//     optional "beginTime"/"endTime" (yyyyMMdd'T'HHmmss'Z'; by default the
//     hour up to now, not before the instance was created) and
//     "meteringSn" (by default a new one; repeating one is how a seller
//     re-sends a record safely). Each push is kept in usage_pushes.
//   - POST /activate {"license":"…"} stands in for the seller's software
//     activating a licence code the buyer typed in: it calls the open API's
//     licence activation and, once activated, records the code as active
//     (as POST /control/licenses does without a marketplace). It needs no
//     control key: the buyer's software holds none.

// marketSchema is what the open API adds to the seller's tables; columns
// are added to a file made before they existed.
var marketSchema = []string{
	`CREATE TABLE IF NOT EXISTS usage_pushes (
		metering_sn TEXT PRIMARY KEY,
		instance_id TEXT NOT NULL,
		value       TEXT NOT NULL,
		begin_time  TEXT NOT NULL,
		end_time    TEXT NOT NULL,
		status      TEXT NOT NULL, -- new or duplicate, as the marketplace answered
		pushed_at   TEXT NOT NULL
	)`,
}

// marketColumns are added to instances: what the order query said.
var marketColumns = []struct{ name, def string }{
	{"sku_code", `TEXT NOT NULL DEFAULT ''`},
	{"charging_mode", `TEXT NOT NULL DEFAULT ''`},
}

func createMarketSchema(ctx context.Context, db *sql.DB) error {
	for _, stmt := range marketSchema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	for _, c := range marketColumns {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('instances') WHERE name = ?`, c.name).Scan(&n); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
		if n == 0 {
			if _, err := db.ExecContext(ctx, `ALTER TABLE instances ADD COLUMN `+c.name+` `+c.def); err != nil {
				return fmt.Errorf("create schema: %w", err)
			}
		}
	}
	return nil
}

// orderLine asks the marketplace for line lineID of order orderID.
func (n *notes) orderLine(ctx context.Context, orderID, lineID string) (*sellerkit.OrderLine, error) {
	info, err := n.market.QueryOrder(ctx, orderID, lineID)
	var oe *sellerkit.OpenAPIError
	if errors.As(err, &oe) && oe.Code == sellerkit.OpenAPINotFound {
		return nil, sellerkit.Errorf(protocol.CodeInvalidParam, "order %s line %s is unknown to the marketplace", orderID, lineID)
	} else if err != nil {
		return nil, fmt.Errorf("query order %s: %w", orderID, err)
	}
	for i := range info.OrderLine {
		if info.OrderLine[i].OrderLineID == lineID {
			return &info.OrderLine[i], nil
		}
	}
	return nil, sellerkit.Errorf(protocol.CodeInvalidParam, "order %s has no line %s", orderID, lineID)
}

// recordOrderLine keeps what the order query said on the instance of the
// purchase.
func recordOrderLine(ctx context.Context, tx *sql.Tx, orderID, lineID string, l *sellerkit.OrderLine) error {
	_, err := tx.ExecContext(ctx, `UPDATE instances SET product_id = ?, sku_code = ?, charging_mode = ?
		WHERE order_id = ? AND order_line_id = ?`, l.ProductID, l.SKUCode, l.ChargingMode, orderID, lineID)
	return err
}

// marketRequired answers 503 when the seller has no marketplace to call.
func (s *Server) marketRequired(w http.ResponseWriter) bool {
	if s.notes.market != nil {
		return true
	}
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "this seller is not connected to a marketplace's open API (--market, --api-key, --api-secret)"})
	return false
}

// openAPIFailure answers a failed open API call: the marketplace's refusal
// with its code, or 502 for a marketplace that could not be reached.
func openAPIFailure(w http.ResponseWriter, err error) {
	var oe *sellerkit.OpenAPIError
	if errors.As(err, &oe) {
		status := http.StatusConflict
		switch oe.Code {
		case sellerkit.LicenseNotFound, sellerkit.OpenAPINotFound:
			status = http.StatusNotFound
		case sellerkit.OpenAPIInvalidParam, sellerkit.LicenseInvalidRequest:
			status = http.StatusBadRequest
		case sellerkit.OpenAPIAuthFailed, sellerkit.OpenAPIInternal:
			status = http.StatusBadGateway
		}
		writeJSON(w, status, map[string]string{"error": oe.Msg, "resultCode": string(oe.Code)})
		return
	}
	writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
}

// usagePush is the body of POST /control/usage.
type usagePush struct {
	InstanceID string `json:"instanceId"`
	Value      string `json:"value"`
	BeginTime  string `json:"beginTime"`
	EndTime    string `json:"endTime"`
	MeteringSN string `json:"meteringSn"`
}

// postUsage pushes one usage record of a pay-per-use instance.
func (s *Server) postUsage(w http.ResponseWriter, r *http.Request) {
	if !s.controlAllowed(w, r) || !s.marketRequired(w) {
		return
	}
	var body usagePush
	if err := readJSON(w, r, &body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	ctx := r.Context()
	inst, err := s.notes.load(ctx, body.InstanceID)
	if err != nil {
		s.log.Error("push usage", "instance", body.InstanceID, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	if inst == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no instance " + body.InstanceID})
		return
	}
	var mode string
	if err := s.notes.db.QueryRowContext(ctx, `SELECT charging_mode FROM instances WHERE id = ?`, inst.ID).Scan(&mode); err != nil {
		s.log.Error("push usage", "instance", inst.ID, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	if mode != "" && mode != "ON_DEMAND" {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "instance " + inst.ID + " is charged " + mode + ", not pay-per-use"})
		return
	}
	rec, err := s.usageRecord(body, inst)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	res, err := s.notes.market.PushUsage(ctx, []sellerkit.UsageRecord{rec})
	if err != nil {
		s.log.Warn("push usage", "instance", inst.ID, "meteringSn", rec.MeteringSN, "err", err)
		openAPIFailure(w, err)
		return
	}
	status := sellerkit.UsageNew
	if len(res.Records) == 1 {
		status = res.Records[0].Status
	}
	_, err = s.notes.db.ExecContext(ctx, `INSERT INTO usage_pushes (metering_sn, instance_id, value, begin_time, end_time, status, pushed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (metering_sn) DO NOTHING`,
		rec.MeteringSN, inst.ID, string(rec.UsageValue), rec.BeginTime, rec.EndTime, status, dbTime(s.notes.now()))
	if err != nil {
		s.log.Error("push usage: record", "meteringSn", rec.MeteringSN, "err", err)
	}
	s.log.Info("usage pushed", "instance", inst.ID, "meteringSn", rec.MeteringSN, "value", rec.UsageValue, "status", status)
	writeJSON(w, http.StatusOK, map[string]string{"instanceId": inst.ID, "meteringSn": rec.MeteringSN, "value": string(rec.UsageValue),
		"beginTime": rec.BeginTime, "endTime": rec.EndTime, "status": status})
}

// usageRecord completes a push with its defaults: the hour up to now (not
// before the instance was created) and a new metering_sn.
func (s *Server) usageRecord(b usagePush, inst *instance) (sellerkit.UsageRecord, error) {
	if b.Value == "" {
		return sellerkit.UsageRecord{}, errors.New("value is required, e.g. \"2.5\"")
	}
	now := s.notes.now().UTC()
	end := now.Truncate(time.Second)
	if b.EndTime != "" {
		t, err := time.Parse(sellerkit.UsageTimeLayout, b.EndTime)
		if err != nil {
			return sellerkit.UsageRecord{}, fmt.Errorf("endTime: want yyyyMMdd'T'HHmmss'Z'")
		}
		end = t
	}
	begin := end.Add(-time.Hour)
	if created := inst.CreatedAt.Add(time.Second - 1).Truncate(time.Second); begin.Before(created) {
		begin = created
	}
	if b.BeginTime != "" {
		t, err := time.Parse(sellerkit.UsageTimeLayout, b.BeginTime)
		if err != nil {
			return sellerkit.UsageRecord{}, fmt.Errorf("beginTime: want yyyyMMdd'T'HHmmss'Z'")
		}
		begin = t
	}
	if !begin.Before(end) {
		return sellerkit.UsageRecord{}, fmt.Errorf("the period %s–%s is empty: give beginTime and endTime", sellerkit.FormatUsageTime(begin), sellerkit.FormatUsageTime(end))
	}
	sn := b.MeteringSN
	if sn == "" {
		sn = newID("sn-")
	}
	return sellerkit.UsageRecord{InstanceID: inst.ID, RecordTime: sellerkit.FormatUsageTime(now), BeginTime: sellerkit.FormatUsageTime(begin),
		EndTime: sellerkit.FormatUsageTime(end), UsageValue: sellerkit.UsageValue(b.Value), MeteringSN: sn}, nil
}

// postActivate activates a licence code through the marketplace, as the
// seller's software would when the buyer enters it.
func (s *Server) postActivate(w http.ResponseWriter, r *http.Request) {
	if !s.marketRequired(w) {
		return
	}
	var body struct {
		License string `json:"license"`
	}
	if err := readJSON(w, r, &body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	code := strings.ToUpper(strings.TrimSpace(body.License))
	if code == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "license is required"})
		return
	}
	if err := s.notes.market.ActivateLicense(r.Context(), code, time.Time{}); err != nil {
		s.log.Warn("activate licence", "license", code, "err", err)
		openAPIFailure(w, err)
		return
	}
	if err := s.notes.activateLicence(r.Context(), code, ""); err != nil {
		s.log.Error("activate licence: record", "license", code, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "activated on the marketplace, but not recorded here: " + err.Error()})
		return
	}
	s.log.Info("licence activated", "license", code)
	writeJSON(w, http.StatusOK, map[string]string{"license": code, "state": stateActive, "resultCode": string(sellerkit.LicenseActivated)})
}
