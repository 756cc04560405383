package sellerkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/souk-market/souk/protocol"
)

// Config configures a Handler. Only Keys is required.
type Config struct {
	// Keys are the access keys accepted; during a rotation both the new
	// (first) and the old key. The first key signs responses and encrypts
	// appInfo secrets.
	Keys []string
	// SignResponses adds a Body-Sign header to every answer (§2.3).
	SignResponses bool
	// EncryptType chooses AES-256 (1, the default) or AES-128 (2) for
	// appInfo secrets.
	EncryptType int
	// Profile holds the protocol choices; the zero value means
	// protocol.Default.
	Profile *protocol.Profile
	// Now is the clock for the timestamp window; nil means time.Now.
	Now func() time.Time
	// Logger receives internal errors and panics; nil means slog.Default().
	Logger *slog.Logger
}

// Handler serves the production URL: basic and licence interfaces at the
// URL itself, kit interfaces at {URL}/produceAPI/v2/{name}. Mount it at the
// production URL's path and at that path with a trailing slash.
type Handler struct {
	seller   Seller
	verifier *protocol.Verifier
	profile  protocol.Profile
	sign     bool
	encType  int
	log      *slog.Logger
}

// NewHandler returns a Handler that dispatches verified calls to s.
func NewHandler(s Seller, cfg Config) *Handler {
	p := protocol.Default
	if cfg.Profile != nil {
		p = *cfg.Profile
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	enc := cfg.EncryptType
	if enc == 0 {
		enc = p.DefaultEncryptType
	}
	return &Handler{
		seller:   s,
		verifier: protocol.NewVerifier(p, now, cfg.Keys...),
		profile:  p,
		sign:     cfg.SignResponses,
		encType:  enc,
		log:      log,
	}
}

// SetKeys replaces the accepted access keys (a rotation, or its end).
func (h *Handler) SetKeys(keys ...string) { h.verifier.SetKeys(keys...) }

var errBodyTooLarge = errors.New("request body too large")

// ServeHTTP answers one production-interface call. Every answer is HTTP 200
// with a JSON body carrying resultCode and resultMsg, except a method other
// than POST (405, with the same JSON body).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kitName, isKit := kitInterface(r.URL.Path)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.write(w, http.StatusMethodNotAllowed, protocol.Result{
			ResultCode: protocol.CodeInvalidParam,
			ResultMsg:  "method " + r.Method + " not allowed: production interfaces are called with POST",
		}, h.currentKey())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.profile.MaxRequestBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, mbe.Limit)
		}
		h.writeResult(w, "", err, h.currentKey())
		return
	}
	var activity protocol.Activity
	var answer any
	// The answer is signed and encrypted with the key the call was signed
	// with, so during a rotation a caller still on the old key can read it.
	key := h.currentKey()
	if isKit {
		activity = protocol.Activity(kitName)
		key, err = h.verifier.VerifyKitKey(r.Header, body)
	} else {
		key, err = h.verifier.VerifyQueryKey(r.URL.Query(), body)
	}
	if err == nil {
		var req protocol.Request
		if isKit {
			req, err = protocol.DecodeKit(kitName, body)
		} else {
			req, err = protocol.DecodeBasic(body)
		}
		if err == nil {
			activity = req.Activity()
			answer, err = h.dispatch(r.Context(), req, key)
		}
	}
	if err != nil {
		if key == "" {
			key = h.currentKey()
		}
		h.writeResult(w, activity, err, key)
		return
	}
	h.write(w, http.StatusOK, answer, key)
}

// currentKey is the key answers are signed with when the caller's key is
// not known (the call failed authentication): the first accepted key.
func (h *Handler) currentKey() string {
	if keys := h.verifier.Keys(); len(keys) > 0 {
		return keys[0]
	}
	return ""
}

// kitInterface returns the kit interface name of a path under the
// production URL, if it is one.
func kitInterface(path string) (string, bool) {
	i := strings.LastIndex(path, protocol.KitPathPrefix)
	if i < 0 {
		return "", false
	}
	return path[i+len(protocol.KitPathPrefix):], true
}

// dispatch calls the Seller's method for req and returns the answer to
// send on success. A panic in the seller's code is an internal error.
func (h *Handler) dispatch(ctx context.Context, req protocol.Request, key string) (answer any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in %s: %v", req.Activity(), p)
		}
	}()
	ok := protocol.Result{ResultCode: protocol.CodeSuccess, ResultMsg: "success"}
	switch req := req.(type) {
	case *protocol.NewInstanceRequest:
		inst, err := h.seller.NewInstance(ctx, req)
		if err != nil {
			return nil, err
		}
		return h.newInstanceAnswer(inst, key)
	case *protocol.QueryInstanceRequest:
		infos, err := h.seller.QueryInstance(ctx, req)
		if err != nil {
			return nil, err
		}
		return h.queryAnswer(infos, key)
	case *protocol.RefreshInstanceRequest:
		return ok, h.seller.RefreshInstance(ctx, req)
	case *protocol.UpdateInstanceStatusRequest:
		return ok, h.seller.UpdateInstanceStatus(ctx, req)
	case *protocol.ReleaseInstanceRequest:
		return ok, h.seller.ReleaseInstance(ctx, req)
	case *protocol.UpgradeInstanceRequest:
		return ok, h.seller.UpgradeInstance(ctx, req)
	case *protocol.ChangeInstanceCheckRequest:
		return ok, h.seller.ChangeInstanceCheck(ctx, req)
	case *protocol.OrderNotifyRequest:
		return ok, h.seller.OrderNotify(ctx, req)
	case *protocol.RefreshLicenseCodeRequest:
		return ok, h.seller.RefreshLicenseCode(ctx, req)
	case *protocol.UpdateLicenseCodeStatusRequest:
		return ok, h.seller.UpdateLicenseCodeStatus(ctx, req)
	case *protocol.ReleaseLicenseCodeRequest:
		return ok, h.seller.ReleaseLicenseCode(ctx, req)
	case *protocol.TenantSyncRequest:
		return ok, h.seller.TenantSync(ctx, req)
	case *protocol.ApplicationSyncRequest:
		return ok, h.seller.ApplicationSync(ctx, req)
	case *protocol.AuthSyncRequest:
		return ok, h.seller.AuthSync(ctx, req)
	case *protocol.SingleOrgSyncRequest:
		return ok, h.seller.SingleOrgSync(ctx, req)
	case *protocol.AllOrgSyncRequest:
		return ok, h.seller.AllOrgSync(ctx, req)
	}
	return nil, fmt.Errorf("%w %q", protocol.ErrUnknownActivity, req.Activity())
}

// checkInstance rejects a NewInstance answer that cannot be sent.
func checkInstance(inst *Instance) error {
	if inst == nil || inst.ID == "" {
		return errors.New("NewInstance returned no instance id")
	}
	if !inst.Pending && (inst.AppInfo == nil || inst.AppInfo.FrontEndURL == "") {
		return errors.New("NewInstance returned a ready instance without appInfo.frontEndUrl")
	}
	return nil
}

func (h *Handler) newInstanceAnswer(inst *Instance, key string) (any, error) {
	if err := checkInstance(inst); err != nil {
		return nil, err
	}
	resp := &protocol.NewInstanceResponse{
		Result:     protocol.Result{ResultCode: protocol.CodeSuccess, ResultMsg: "success"},
		InstanceID: inst.ID,
	}
	if inst.Pending {
		resp.Result = protocol.Result{ResultCode: protocol.CodeAccepted, ResultMsg: "accepted, provisioning"}
	}
	if inst.AppInfo != nil {
		info, err := h.encrypt(inst.AppInfo, key)
		if err != nil {
			return nil, err
		}
		resp.AppInfo, resp.EncryptType = info, protocol.NumberFlag(h.encType)
	}
	return resp, nil
}

func (h *Handler) queryAnswer(infos []protocol.InstanceInfo, key string) (any, error) {
	resp := &protocol.QueryInstanceResponse{
		Result:      protocol.Result{ResultCode: protocol.CodeSuccess, ResultMsg: "success"},
		EncryptType: protocol.NumberFlag(h.encType),
		Info:        make([]protocol.InstanceInfo, len(infos)),
	}
	for i, info := range infos {
		resp.Info[i] = info
		if info.AppInfo != nil {
			enc, err := h.encrypt(info.AppInfo, key)
			if err != nil {
				return nil, err
			}
			resp.Info[i].AppInfo = enc
		}
	}
	return resp, nil
}

// encrypt returns a copy of info with userName and password encrypted
// (§2.4) under key.
func (h *Handler) encrypt(info *protocol.AppInfo, key string) (*protocol.AppInfo, error) {
	out := *info
	for _, f := range []*string{&out.UserName, &out.Password} {
		if *f == "" {
			continue
		}
		enc, err := protocol.EncryptField(key, *f, h.encType)
		if err != nil {
			return nil, err
		}
		*f = enc
	}
	return &out, nil
}

// writeResult answers a failed call with the result code of err.
func (h *Handler) writeResult(w http.ResponseWriter, a protocol.Activity, err error, key string) {
	code, msg, internal := resultOf(err)
	if internal {
		h.log.Error("production interface call failed", "activity", a, "err", err)
	}
	h.write(w, http.StatusOK, protocol.Result{ResultCode: code, ResultMsg: msg}, key)
}

// write encodes v into a buffer first, so a failed encoding never sends
// half an answer, then signs it with key when configured.
func (h *Handler) write(w http.ResponseWriter, status int, v any, key string) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		h.log.Error("encode production interface answer", "err", err)
		buf.Reset()
		buf.WriteString(`{"resultCode":"000005","resultMsg":"internal error of the seller"}`)
	}
	body := bytes.TrimRight(buf.Bytes(), "\n")
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	if h.sign && key != "" {
		w.Header().Set(protocol.HeaderBodySign, protocol.SignResponse(key, body))
	}
	w.WriteHeader(status)
	w.Write(body)
}
