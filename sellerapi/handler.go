package sellerapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/usage"
)

// MaxBody caps a request body.
const MaxBody = 1 << 20

// MaxNonce is the longest nonce accepted (KooGallery's limit).
const MaxNonce = 64

// Config configures a Handler.
type Config struct {
	DB *store.DB
	// Keys opens the sealed secrets; without it every call fails (500).
	Keys *catalog.Keyring
	// Logger receives the marketplace's own failures; nil: slog.Default().
	Logger *slog.Logger
	// Profile gives the timestamp window (a nonce is remembered for twice
	// it); zero: protocol.Default.
	Profile protocol.Profile
}

// Handler serves the open API's three paths.
type Handler struct {
	db      *store.DB
	keys    *catalog.Keyring
	log     *slog.Logger
	profile protocol.Profile
	// nextPurge is when (Unix ms, the store's clock) this Handler next
	// deletes expired nonces (maybePurge).
	nextPurge atomic.Int64
}

// NewHandler returns a Handler.
func NewHandler(cfg Config) *Handler {
	p := cfg.Profile
	if p.TimestampWindow == 0 {
		p = protocol.Default
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Handler{db: cfg.DB, keys: cfg.Keys, log: log, profile: p}
}

// endpoint is one path of the open API.
type endpoint struct {
	method string
	serve  func(h *Handler, ctx context.Context, r *http.Request, c Credential, body []byte) (int, any, error)
}

var endpoints = map[string]endpoint{
	sellerkit.PathOrderQuery:      {http.MethodGet, (*Handler).orderQuery},
	sellerkit.PathUsageData:       {http.MethodPost, (*Handler).usageData},
	sellerkit.PathLicenseActivate: {http.MethodPost, (*Handler).licenseActivate},
}

// Serves reports whether path is one of the open API's, which a Handler
// serves whatever the method (405 for the wrong one).
func Serves(path string) bool { _, ok := endpoints[path]; return ok }

// ServeHTTP routes, reads the body, authenticates and answers one call.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep, ok := endpoints[r.URL.Path]
	if !ok {
		h.answer(w, http.StatusNotFound, result(sellerkit.OpenAPINotFound, "No open API path "+r.URL.Path+"."))
		return
	}
	if r.Method != ep.method {
		w.Header().Set("Allow", ep.method)
		h.answer(w, http.StatusMethodNotAllowed, result(sellerkit.OpenAPIInvalidParam, r.Method+" is not allowed on "+r.URL.Path+"; use "+ep.method+"."))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		h.answer(w, http.StatusBadRequest, result(sellerkit.OpenAPIInvalidParam, "The request body cannot be read."))
		return
	}
	if len(body) > MaxBody {
		h.answer(w, http.StatusRequestEntityTooLarge, result(sellerkit.OpenAPIInvalidParam, fmt.Sprintf("The request body is larger than %d bytes.", MaxBody)))
		return
	}
	c, err := h.authenticate(r.Context(), r.Header, body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status, v, err := ep.serve(h, r.Context(), r, c, body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.answer(w, status, v)
}

// authFailure is an authentication failure: HTTP 401, 000001.
func authFailure(format string, args ...any) error {
	return souk.Errorf(souk.EUNAUTHENTICATED, "Authentication failed: "+format, args...)
}

// authenticate checks a call's credential, timestamp, signature and nonce
// (doc.go, in that order) and returns the credential.
func (h *Handler) authenticate(ctx context.Context, hd http.Header, body []byte) (Credential, error) {
	keyID, ts, nonce, sig := hd.Get(sellerkit.HeaderOpenAPIKey), hd.Get(sellerkit.HeaderOpenAPITS),
		hd.Get(sellerkit.HeaderOpenAPINonce), hd.Get(sellerkit.HeaderOpenAPISign)
	for _, p := range []struct{ name, v string }{{sellerkit.HeaderOpenAPIKey, keyID}, {sellerkit.HeaderOpenAPITS, ts},
		{sellerkit.HeaderOpenAPINonce, nonce}, {sellerkit.HeaderOpenAPISign, sig}} {
		if p.v == "" {
			return Credential{}, authFailure("the %s header is missing.", p.name)
		}
	}
	if len(nonce) > MaxNonce {
		return Credential{}, authFailure("the nonce is longer than %d characters.", MaxNonce)
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(ts) != 13 {
		return Credential{}, authFailure("ts %.20q: want Unix milliseconds, 13 digits.", ts)
	}
	now := h.db.Clock().Now()
	window := h.profile.TimestampWindow
	if skew := now.Sub(time.UnixMilli(ms)); skew > window || skew < -window {
		return Credential{}, authFailure("ts is %s from the marketplace's clock; allowed ±%s.", skew.Round(time.Millisecond), window)
	}
	c, secret, err := credentialOf(ctx, h.db, h.keys, keyID)
	if souk.ErrorCode(err) == souk.ENOTFOUND {
		return Credential{}, authFailure("unknown API key %.64q.", keyID)
	} else if err != nil {
		return Credential{}, err
	}
	if c.Revoked() {
		return Credential{}, authFailure("API key %s was revoked.", keyID)
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	want, _ := base64.StdEncoding.DecodeString(protocol.SignOpenAPI(secret, nonce, ts, body))
	if err != nil || !hmac.Equal(got, want) {
		return Credential{}, authFailure("the signature does not match (base64 of HMAC-SHA256 over \"ts={ts}&nonce={nonce}&body={body}\" with the key's secret).")
	}
	// Only now, the signature verified, is the nonce written: forged calls
	// cannot fill the table.
	if fresh, err := h.remember(ctx, keyID, nonce, now); err != nil {
		return Credential{}, err
	} else if !fresh {
		return Credential{}, authFailure("replayed nonce: key %s used it within the last %s.", keyID, 2*window)
	}
	return c, nil
}

// sellerActor is how the open API acts for a credential's seller in the
// catalogue's reads.
func sellerActor(c Credential) souk.Actor {
	return souk.Actor{UserID: "api-key:" + c.KeyID, Role: souk.RoleSeller, SellerID: c.SellerID}
}

// orderQuery answers GET /api/v1/order/query?orderId=&orderLineId=.
func (h *Handler) orderQuery(ctx context.Context, r *http.Request, c Credential, _ []byte) (int, any, error) {
	q := r.URL.Query()
	orderID, lineID := q.Get("orderId"), q.Get("orderLineId")
	switch {
	case orderID == "":
		return 0, nil, souk.Errorf(souk.EINVALID, "orderId: is required.")
	case len(orderID) > 64 || len(lineID) > 64:
		return 0, nil, souk.Errorf(souk.EINVALID, "orderId and orderLineId: at most 64 characters.")
	}
	o, err := order.SellerOrder(ctx, h.db, c.SellerID, orderID)
	if err != nil {
		return 0, nil, err
	}
	info := &sellerkit.OrderInfo{OrderID: o.ID, OrderType: string(o.Type), CreateTime: protocol.FormatTime(o.CreatedAt),
		BuyerInfo: sellerkit.BuyerInfo{CustomerID: o.BuyerID}, OrderLine: []sellerkit.OrderLine{}}
	products := map[string]*catalog.Product{}
	for _, l := range o.Lines {
		if lineID != "" && l.ID != lineID {
			continue
		}
		p, ok := products[l.ProductID]
		if !ok {
			v, err := catalog.GetProduct(ctx, h.db, sellerActor(c), l.ProductID)
			if err != nil && souk.ErrorCode(err) != souk.ENOTFOUND {
				return 0, nil, err
			}
			p, products[l.ProductID] = v.Listed, v.Listed
		}
		line := sellerkit.OrderLine{OrderLineID: l.ID, ProductID: l.ProductID, SKUCode: l.SpecCode,
			Currency: l.Amount.Currency, Amount: l.Amount.Amount}
		if !l.PeriodEnd.IsZero() {
			line.ExpireTime = protocol.FormatTime(l.PeriodEnd)
		}
		if p != nil {
			if spec, ok := p.Spec(l.SpecCode); ok {
				line.ChargingMode = string(spec.Charging)
				if spec.Charging == catalog.ChargePeriod {
					line.PeriodType, line.PeriodNum = spec.Period, l.Periods
				}
				if spec.Quantity != nil {
					line.LinearValue = l.Quantity
				}
			}
		}
		if line.InstanceID, err = h.sellerInstanceID(ctx, c.SellerID, l.InstanceID); err != nil {
			return 0, nil, err
		}
		info.OrderLine = append(info.OrderLine, line)
	}
	if len(info.OrderLine) == 0 {
		return 0, nil, souk.Errorf(souk.ENOTFOUND, "Order line %s of order %s not found.", lineID, orderID)
	}
	return http.StatusOK, sellerkit.OrderQueryResponse{OpenAPIResult: result(sellerkit.OpenAPISuccess, "success"), OrderInfo: info}, nil
}

// sellerInstanceID returns the seller's id of instance id ("" until the
// seller has given one).
func (h *Handler) sellerInstanceID(ctx context.Context, sellerID, id string) (string, error) {
	var sid string
	err := h.db.SQL().QueryRowContext(ctx, `SELECT seller_instance_id FROM order_instances WHERE id = $1 AND seller_id = $2`, id, sellerID).Scan(&sid)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("instance %s: %w", id, err)
	}
	return sid, nil
}

// usageData answers POST /api/v1/isv/usage-data: all the records stored,
// or none.
func (h *Handler) usageData(ctx context.Context, _ *http.Request, c Credential, body []byte) (int, any, error) {
	recs, err := ParseUsage(body)
	if err != nil {
		return 0, nil, err
	}
	rates, err := usage.SellerRates(ctx, h.db, c.SellerID)
	if err != nil {
		return 0, nil, err
	}
	var outs []usage.Outcome
	err = h.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		outs, err = usage.Push(ctx, tx, c.SellerID, rates, recs)
		return err
	})
	if err != nil {
		if souk.ErrorCode(err) == souk.ENOTFOUND { // a record's instance: the batch's fault, not a missing path
			err = souk.Errorf(souk.EINVALID, "%s", souk.ErrorMessage(err))
		}
		return 0, nil, err
	}
	res := sellerkit.UsagePushResponse{OpenAPIResult: result(sellerkit.OpenAPISuccess, "success"), Records: make([]sellerkit.UsageOutcome, len(outs))}
	for i, o := range outs {
		status := sellerkit.UsageNew
		if o.Duplicate {
			status = sellerkit.UsageDuplicate
			res.Duplicates++
		} else {
			res.Accepted++
		}
		res.Records[i] = sellerkit.UsageOutcome{MeteringSN: o.MeteringSN, Status: status}
	}
	return http.StatusOK, res, nil
}

// licenseActivate answers POST /api/v1/license/activate.
func (h *Handler) licenseActivate(ctx context.Context, _ *http.Request, c Credential, body []byte) (int, any, error) {
	invalid := func(msg string) (int, any, error) {
		return http.StatusBadRequest, result(sellerkit.LicenseInvalidRequest, msg), nil
	}
	var req sellerkit.LicenseActivateRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return invalid("The body is not a JSON object {license, real_effect_time}.")
	}
	if req.License == "" {
		return invalid("license: is required.")
	}
	var effect time.Time
	if req.RealEffectTime != "" {
		var err error
		if effect, err = protocol.ParseTime(req.RealEffectTime); err != nil {
			return invalid("real_effect_time: want yyyyMMddHHmmss (UTC).")
		}
	}
	l, err := order.ActivateLicense(ctx, h.db, c.SellerID, req.License, effect)
	switch souk.ErrorCode(err) {
	case "":
		return http.StatusOK, result(sellerkit.LicenseActivated, "Licence "+l.Code+" activated."), nil
	case souk.ENOTFOUND:
		return http.StatusNotFound, result(sellerkit.LicenseNotFound, souk.ErrorMessage(err)), nil
	case souk.ECONFLICT:
		return http.StatusConflict, result(sellerkit.LicenseIllegalState, souk.ErrorMessage(err)), nil
	case souk.EINVALID:
		return invalid(souk.ErrorMessage(err))
	}
	return 0, nil, err
}

func result(code protocol.Code, msg string) sellerkit.OpenAPIResult {
	return sellerkit.OpenAPIResult{ResultCode: code, ResultMsg: msg}
}

// failures maps error codes to the answer's status and result code.
var failures = map[string]struct {
	status int
	code   protocol.Code
}{
	souk.EUNAUTHENTICATED: {http.StatusUnauthorized, sellerkit.OpenAPIAuthFailed},
	souk.EUNAUTHORIZED:    {http.StatusUnauthorized, sellerkit.OpenAPIAuthFailed},
	souk.EINVALID:         {http.StatusBadRequest, sellerkit.OpenAPIInvalidParam},
	souk.ECONFLICT:        {http.StatusConflict, sellerkit.OpenAPIInvalidParam},
	souk.ENOTFOUND:        {http.StatusNotFound, sellerkit.OpenAPINotFound},
}

// fail answers err: its status and code, or 500 000005 with a generic
// message for an error of the marketplace's own (logged).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	f, ok := failures[souk.ErrorCode(err)]
	if !ok {
		h.log.Error("open API call failed", "method", r.Method, "path", r.URL.Path, "key", r.Header.Get(sellerkit.HeaderOpenAPIKey), "err", err)
		h.answer(w, http.StatusInternalServerError, result(sellerkit.OpenAPIInternal, "Internal error."))
		return
	}
	h.answer(w, f.status, result(f.code, souk.ErrorMessage(err)))
}

// answer encodes v before writing anything.
func (h *Handler) answer(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		h.log.Error("open API: encode answer", "err", err)
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString(`{"resultCode":"000005","resultMsg":"Internal error."}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
