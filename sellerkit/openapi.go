package sellerkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/souk-market/souk/protocol"
)

// The seller → marketplace open API (protocol.md §6): the wire shared by
// the marketplace's side (package sellerapi) and OpenAPIClient, so the two
// cannot drift apart.
//
// A call is authenticated with one of the seller's API credentials: its key
// id in HeaderOpenAPIKey, and the headers ts (Unix milliseconds), nonce and
// signature = protocol.SignOpenAPI(secret, nonce, ts, rawBody). Only the
// body is signed (an empty one for GET), as KooGallery does.

// The paths of the open API on the marketplace.
const (
	PathOrderQuery      = "/api/v1/order/query"
	PathUsageData       = "/api/v1/isv/usage-data"
	PathLicenseActivate = "/api/v1/license/activate"
)

// The headers of an open API call.
const (
	// HeaderOpenAPIKey names the credential that signed the call: its key
	// id, as shown when the credential was created.
	HeaderOpenAPIKey   = "X-Souk-Key"
	HeaderOpenAPITS    = "ts"
	HeaderOpenAPINonce = "nonce"
	HeaderOpenAPISign  = "signature"
)

// Result codes of the open API. The protocol's 000000–000005 keep their
// meaning; the licence codes are activation's own.
const (
	OpenAPISuccess        protocol.Code = "000000"
	OpenAPIAuthFailed     protocol.Code = "000001" // HTTP 401
	OpenAPIInvalidParam   protocol.Code = "000002" // HTTP 400 (413 for a body over 1 MiB)
	OpenAPINotFound       protocol.Code = "000003" // HTTP 404: no such order (of this seller's)
	OpenAPIInternal       protocol.Code = "000005" // HTTP 500
	LicenseActivated      protocol.Code = "92020000"
	LicenseNotFound       protocol.Code = "92020001" // no such licence code of this seller's products
	LicenseInvalidRequest protocol.Code = "92020002" // license or real_effect_time malformed
	LicenseIllegalState   protocol.Code = "92020003" // already activated, frozen or released
)

// MaxUsageRecords is the most usage records one push may carry.
const MaxUsageRecords = 1000

// UsageTimeLayout is the form of the times of a usage record:
// yyyyMMdd'T'HHmmss'Z', in UTC.
const UsageTimeLayout = "20060102T150405Z"

// FormatUsageTime formats t for a usage record.
func FormatUsageTime(t time.Time) string { return t.UTC().Format(UsageTimeLayout) }

// OpenAPIResult is what every answer of the open API carries.
type OpenAPIResult struct {
	ResultCode protocol.Code `json:"resultCode"`
	ResultMsg  string        `json:"resultMsg"`
}

// OrderQueryResponse answers GET /api/v1/order/query.
type OrderQueryResponse struct {
	OpenAPIResult
	OrderInfo *OrderInfo `json:"orderInfo,omitempty"`
}

// OrderInfo is an order as its seller sees it: only the lines of its own
// products.
type OrderInfo struct {
	OrderID    string      `json:"orderId"`
	OrderType  string      `json:"orderType"`  // NEW, TRIAL, TRIAL_TO_FORMAL, RENEW, CHANGE, UNSUBSCRIBE
	CreateTime string      `json:"createTime"` // yyyyMMddHHmmss, UTC
	OrderLine  []OrderLine `json:"orderLine"`
	BuyerInfo  BuyerInfo   `json:"buyerInfo"`
}

// OrderLine is one line of an order.
type OrderLine struct {
	OrderLineID  string `json:"orderLineId"`
	ChargingMode string `json:"chargingMode"`         // ON_DEMAND, ONE_TIME, PERIOD
	ExpireTime   string `json:"expireTime,omitempty"` // yyyyMMddHHmmss UTC; none for what does not expire
	ProductID    string `json:"productId"`
	SKUCode      string `json:"skuCode"`               // the spec's code
	LinearValue  int    `json:"linearValue,omitempty"` // units of a spec sold by quantity
	PeriodType   string `json:"periodType,omitempty"`  // month or year, for PERIOD
	PeriodNum    int    `json:"periodNum,omitempty"`   // periods bought, for PERIOD
	// Currency and Amount are what the line cost, in minor units.
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
	// InstanceID is the seller's id of the instance the line yields or
	// touches, once the seller has given one.
	InstanceID string `json:"instanceId,omitempty"`
}

// BuyerInfo names the buyer.
type BuyerInfo struct {
	CustomerID string `json:"customerId"`
}

// UsagePush is the body of POST /api/v1/isv/usage-data.
type UsagePush struct {
	UsageRecords []UsageRecord `json:"usage_records"`
}

// UsageRecord is one service detail record of a pay-per-use instance.
type UsageRecord struct {
	// InstanceID is the instance as the seller knows it: the instanceId it
	// answered to newInstance (the marketplace's own instance id is
	// accepted too).
	InstanceID string `json:"instance_id"`
	RecordTime string `json:"record_time,omitempty"` // UsageTimeLayout
	BeginTime  string `json:"begin_time"`            // UsageTimeLayout
	EndTime    string `json:"end_time"`              // UsageTimeLayout
	// UsageValue is a decimal > 0 with at most 4 decimals, sent as a JSON
	// string and accepted as a string or a number.
	UsageValue UsageValue `json:"usage_value"`
	MeteringSN string     `json:"metering_sn"`
}

// UsageValue is a usage value exactly as written: a JSON number or string
// is kept as its text, never passed through a float.
type UsageValue string

// UnmarshalJSON accepts a JSON string or number.
func (v *UsageValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = UsageValue(s)
		return nil
	}
	if len(b) == 0 || !(b[0] == '-' || b[0] >= '0' && b[0] <= '9') {
		return fmt.Errorf("usage_value: want a decimal number or string, got %.20s", b)
	}
	*v = UsageValue(b)
	return nil
}

// UsagePushResponse answers a usage push: per record, in order, whether it
// was new or a duplicate of one pushed before.
type UsagePushResponse struct {
	OpenAPIResult
	Accepted   int            `json:"accepted"`
	Duplicates int            `json:"duplicates"`
	Records    []UsageOutcome `json:"records,omitempty"`
}

// UsageOutcome says what became of one record.
type UsageOutcome struct {
	MeteringSN string `json:"metering_sn"`
	Status     string `json:"status"` // UsageNew or UsageDuplicate
}

// The statuses of a pushed record.
const (
	UsageNew       = "new"       // stored and rated: it will be billed
	UsageDuplicate = "duplicate" // its metering_sn was pushed before: not counted again
)

// LicenseActivateRequest is the body of POST /api/v1/license/activate.
type LicenseActivateRequest struct {
	License        string `json:"license"`
	RealEffectTime string `json:"real_effect_time,omitempty"` // yyyyMMddHHmmss UTC; empty: now
}

// OpenAPIError is an answer of the open API other than success: its HTTP
// status, result code and message. Transport failures are other errors.
type OpenAPIError struct {
	Status int
	Code   protocol.Code
	Msg    string
}

func (e *OpenAPIError) Error() string {
	return fmt.Sprintf("open API: HTTP %d, %s %s", e.Status, e.Code, e.Msg)
}

// OpenAPIClient calls the marketplace's open API with one of the seller's
// API credentials, signing every call afresh (a new ts and nonce, so a retry
// is never refused as a replay).
type OpenAPIClient struct {
	// BaseURL is the marketplace's address, e.g. https://market.example.
	BaseURL string
	// KeyID and Secret are the credential, as created on the marketplace.
	KeyID, Secret string
	// HTTP sends the calls; nil means a client with a 20 s timeout.
	HTTP *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

var defaultOpenAPIHTTP = &http.Client{Timeout: 20 * time.Second}

// QueryOrder returns order orderID as the marketplace shows it to this
// seller; with orderLineID, only that line. An order that is not this
// seller's is an *OpenAPIError with OpenAPINotFound.
func (c *OpenAPIClient) QueryOrder(ctx context.Context, orderID, orderLineID string) (*OrderInfo, error) {
	q := url.Values{"orderId": {orderID}}
	if orderLineID != "" {
		q.Set("orderLineId", orderLineID)
	}
	var res OrderQueryResponse
	if err := c.call(ctx, http.MethodGet, PathOrderQuery+"?"+q.Encode(), nil, &res, &res.OpenAPIResult); err != nil {
		return nil, err
	}
	if res.OrderInfo == nil {
		return nil, errors.New("open API: order query answered without orderInfo")
	}
	return res.OrderInfo, nil
}

// PushUsage sends usage records (at most MaxUsageRecords). The marketplace
// takes all of them or none: a refusal is an *OpenAPIError naming the
// record at fault.
func (c *OpenAPIClient) PushUsage(ctx context.Context, records []UsageRecord) (*UsagePushResponse, error) {
	var res UsagePushResponse
	if err := c.call(ctx, http.MethodPost, PathUsageData, UsagePush{UsageRecords: records}, &res, &res.OpenAPIResult); err != nil {
		return nil, err
	}
	return &res, nil
}

// ActivateLicense activates a licence code the buyer entered in the
// seller's software, effective at effect (zero: now). It returns nil for
// LicenseActivated and an *OpenAPIError otherwise (LicenseIllegalState for
// a code activated before, LicenseNotFound for an unknown one).
func (c *OpenAPIClient) ActivateLicense(ctx context.Context, license string, effect time.Time) error {
	req := LicenseActivateRequest{License: license}
	if !effect.IsZero() {
		req.RealEffectTime = protocol.FormatTime(effect)
	}
	var res OpenAPIResult
	return c.call(ctx, http.MethodPost, PathLicenseActivate, req, &res, &res)
}

// call signs and sends one call and decodes its answer into out; result is
// the part of out that holds the result code.
func (c *OpenAPIClient) call(ctx context.Context, method, path string, in, out any, result *OpenAPIResult) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("open API %s: %w", path, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("open API %s: %w", path, err)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ts, nonce := strconv.FormatInt(now().UnixMilli(), 10), protocol.Default.NewNonce()
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(HeaderOpenAPIKey, c.KeyID)
	req.Header.Set(HeaderOpenAPITS, ts)
	req.Header.Set(HeaderOpenAPINonce, nonce)
	req.Header.Set(HeaderOpenAPISign, protocol.SignOpenAPI(c.Secret, nonce, ts, body))
	hc := c.HTTP
	if hc == nil {
		hc = defaultOpenAPIHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("open API %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, protocol.Default.MaxResponseBody+1))
	if err != nil {
		return fmt.Errorf("open API %s: read answer: %w", path, err)
	}
	if int64(len(raw)) > protocol.Default.MaxResponseBody {
		return fmt.Errorf("open API %s: answer over %d bytes", path, protocol.Default.MaxResponseBody)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("open API %s: HTTP %d, not a JSON answer: %.200q", path, resp.StatusCode, raw)
	}
	if result.ResultCode == "" {
		return fmt.Errorf("open API %s: HTTP %d, answer without resultCode", path, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK || (result.ResultCode != OpenAPISuccess && result.ResultCode != LicenseActivated) {
		return &OpenAPIError{Status: resp.StatusCode, Code: result.ResultCode, Msg: result.ResultMsg}
	}
	return nil
}
