package protocol_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/souk-market/souk/protocol"
)

func ptr[T any](v T) *T { return &v }

func kitCommon() protocol.KitCommon {
	return protocol.KitCommon{InstanceID: "ins-001", TenantID: "tenant-7", TestFlag: 1, TimeStamp: "20260101080000123"}
}

// fullRequests returns one valid body of every interface, in the order of
// protocol.Activities, with every field set, optional ones included.
func fullRequests() []protocol.Request {
	return []protocol.Request{
		&protocol.NewInstanceRequest{TestFlag: 1, BusinessID: "biz-1", OrderID: "CS2601010000A", OrderLineID: "CS2601010000A-000001"},
		&protocol.QueryInstanceRequest{TestFlag: 1, InstanceID: "ins-001,ins-002"},
		&protocol.RefreshInstanceRequest{TestFlag: 1, Scene: protocol.SceneRenewal, OrderID: "o-2", OrderLineID: "ol-2", InstanceID: "ins-001", ProductID: "p-01", ExpireTime: "20270101000000"},
		&protocol.UpdateInstanceStatusRequest{TestFlag: 1, InstanceID: "ins-001", Status: protocol.StatusFreeze},
		&protocol.ReleaseInstanceRequest{TestFlag: 1, InstanceID: "ins-001", OrderID: "o-3", OrderLineID: "ol-3"},
		&protocol.UpgradeInstanceRequest{TestFlag: 1, InstanceID: "ins-001", OrderID: "o-4", OrderLineID: "ol-4"},
		&protocol.ChangeInstanceCheckRequest{TestFlag: 1, InstanceID: "ins-001", ProductInfo: protocol.ProductInfo{ProductID: "p-02", SKUCode: "sku-02", LinearValue: ptr[int64](20), ProductName: "企业版 云盘"}},
		&protocol.OrderNotifyRequest{TestFlag: 1, OrderID: "o-5", OrderLineID: "ol-5"},
		&protocol.RefreshLicenseCodeRequest{TestFlag: 1, Scene: protocol.SceneUnsubscribeRenewalPeriod, OrderID: "o-6", OrderLineID: "ol-6", License: "LIC-AAAA-BBBB", ProductID: "p-03", ExpireTime: "20261231235959"},
		&protocol.UpdateLicenseCodeStatusRequest{TestFlag: 1, License: "LIC-AAAA-BBBB", Status: protocol.StatusUnfreeze},
		&protocol.ReleaseLicenseCodeRequest{TestFlag: 1, License: "LIC-AAAA-BBBB", OrderID: "o-7", OrderLineID: "ol-7"},
		&protocol.TenantSyncRequest{KitCommon: kitCommon(), OrderID: "o-8", TenantCode: "acme", Name: "Acme 有限公司", DomainName: "acme.example", Flag: protocol.FlagAdd},
		&protocol.ApplicationSyncRequest{KitCommon: kitCommon(), AppID: "app-1", ClientID: "client-1", ClientSecret: "c2VjcmV0", Flag: protocol.FlagModify},
		&protocol.AuthSyncRequest{KitCommon: kitCommon(), AppID: "app-1", UserList: []protocol.User{
			{UserName: "zhang.san", Name: "张三", OrgCode: "dept-1", Role: "admin", Enable: "true", Position: "CTO", EmployeeCode: "E001", Mobile: "+86 138 0000 0000", Email: "zhang.san@acme.example"},
			{UserName: "li.si", Name: "李四", OrgCode: "dept-2", Role: "user", Enable: "false", Position: "Engineer", EmployeeCode: "E002", Mobile: "+86 139 0000 0000", Email: "li.si@acme.example"},
		}, CurrentSyncTime: "20260101080000123", Flag: protocol.FlagRevoke},
		&protocol.SingleOrgSyncRequest{KitCommon: kitCommon(), OrgCode: "dept-2", OrgName: "研发部", ParentCode: "dept-1", Flag: protocol.FlagModify},
		&protocol.AllOrgSyncRequest{KitCommon: kitCommon(), OrgInfoList: []protocol.Org{
			{OrgCode: "dept-1", OrgName: "总部", ParentCode: ""},
			{OrgCode: "dept-2", OrgName: "研发部", ParentCode: "dept-1"},
		}},
	}
}

// decode decodes body the way a seller does for activity a.
func decode(a protocol.Activity, body []byte) (protocol.Request, error) {
	if a.Kit() {
		return protocol.DecodeKit(string(a), body)
	}
	return protocol.DecodeBasic(body)
}

func mustEncode(t testing.TB, req protocol.Request) []byte {
	t.Helper()
	b, err := protocol.Encode(req)
	if err != nil {
		t.Fatalf("Encode(%s) error = %v", req.Activity(), err)
	}
	return b
}

func TestActivities(t *testing.T) {
	if got := len(protocol.Activities); got != 16 {
		t.Fatalf("len(Activities) = %d, want 16", got)
	}
	reqs := fullRequests()
	kits := 0
	for i, a := range protocol.Activities {
		if !a.Known() {
			t.Errorf("%s.Known() = false, want true", a)
		}
		if got := reqs[i].Activity(); got != a {
			t.Errorf("fullRequests()[%d].Activity() = %v, want %v", i, got, a)
		}
		if a.Kit() {
			kits++
		}
	}
	if kits != 5 {
		t.Errorf("%d kit activities, want 5", kits)
	}
	for _, a := range []protocol.Activity{"", "NewInstance", "newinstance", "deleteEverything"} {
		if a.Known() || a.Kit() {
			t.Errorf("Activity(%q): Known() = %v, Kit() = %v, want false, false", a, a.Known(), a.Kit())
		}
	}
}

func TestEncodeActivityMember(t *testing.T) {
	for _, req := range fullRequests() {
		a := req.Activity()
		t.Run(string(a), func(t *testing.T) {
			body := mustEncode(t, req)
			var m map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("Encode() = %s, not a JSON object: %v", body, err)
			}
			got, has := m["activity"]
			switch {
			case a.Kit() && has:
				t.Errorf("Encode() = %s, has activity %s, want none for a kit interface", body, got)
			case !a.Kit() && string(got) != `"`+string(a)+`"`:
				t.Errorf("Encode() activity = %s, want %q", got, a)
			case !a.Kit() && !bytes.HasPrefix(body, []byte(`{"activity":"`+string(a)+`",`)):
				t.Errorf("Encode() = %s, want activity as the first member", body)
			}
			// The documented forms of the flags: basic testFlag as a
			// string, kit testFlag and flag as numbers.
			want := map[string]string{"testFlag": `"1"`}
			if a.Kit() {
				want["testFlag"] = "1"
				if _, ok := m["flag"]; ok {
					want["flag"] = fmt.Sprint(reflect.ValueOf(req).Elem().FieldByName("Flag").Int())
				}
			}
			for k, w := range want {
				if string(m[k]) != w {
					t.Errorf("Encode() %s = %s, want %s", k, m[k], w)
				}
			}
		})
	}
}

func TestEncodeOmitsEmptyOptionalFields(t *testing.T) {
	body := mustEncode(t, &protocol.ReleaseInstanceRequest{InstanceID: "i"})
	want := `{"activity":"releaseInstance","testFlag":"0","instanceId":"i"}`
	if string(body) != want {
		t.Errorf("Encode() = %s, want %s", body, want)
	}
}

// Every interface survives Encode and the seller's Decode unchanged.
func TestRoundTrip(t *testing.T) {
	for _, req := range fullRequests() {
		a := req.Activity()
		t.Run(string(a), func(t *testing.T) {
			if err := req.Validate(); err != nil {
				t.Fatalf("Validate() = %v, want nil for the fixture", err)
			}
			body := mustEncode(t, req)
			got, err := decode(a, body)
			if err != nil {
				t.Fatalf("decode(%s) error = %v", body, err)
			}
			if !reflect.DeepEqual(got, req) {
				t.Errorf("decode(Encode(req)) = %+v, want %+v", got, req)
			}
			// Encoding is deterministic.
			if again := mustEncode(t, got); !bytes.Equal(again, body) {
				t.Errorf("Encode(decoded) = %s, want %s", again, body)
			}
		})
	}
}

// Peers send testFlag and flag as strings or numbers; both are accepted.
func TestFlagForms(t *testing.T) {
	tests := []struct {
		raw  string
		want int
	}{
		{`"1"`, 1},
		{`1`, 1},
		{`"0"`, 0},
		{`0`, 0},
		{`" 1 "`, 1},
		{`""`, 0},
		{`null`, 0},
	}
	for _, tt := range tests {
		t.Run("basic testFlag "+tt.raw, func(t *testing.T) {
			body := `{"activity":"orderNotify","testFlag":` + tt.raw + `,"orderId":"o","orderLineId":"l"}`
			req, err := protocol.DecodeBasic([]byte(body))
			if err != nil {
				t.Fatalf("DecodeBasic(%s) error = %v", body, err)
			}
			if got := int(req.(*protocol.OrderNotifyRequest).TestFlag); got != tt.want {
				t.Errorf("DecodeBasic(%s) testFlag = %d, want %d", body, got, tt.want)
			}
		})
		t.Run("kit testFlag and flag "+tt.raw, func(t *testing.T) {
			body := `{"instanceId":"i","tenantId":"t","testFlag":` + tt.raw + `,"timeStamp":"20260101080000000","tenantCode":"c","orderId":"o","name":"n","domainName":"d","flag":` + tt.raw + `}`
			req, err := protocol.DecodeKit("tenantSync", []byte(body))
			if err != nil {
				t.Fatalf("DecodeKit(%s) error = %v", body, err)
			}
			ts := req.(*protocol.TenantSyncRequest)
			if int(ts.TestFlag) != tt.want || int(ts.Flag) != tt.want {
				t.Errorf("DecodeKit(%s) testFlag, flag = %d, %d, want %d, %d", body, ts.TestFlag, ts.Flag, tt.want, tt.want)
			}
		})
	}
	t.Run("omitted", func(t *testing.T) {
		req, err := protocol.DecodeBasic([]byte(`{"activity":"orderNotify","orderId":"o","orderLineId":"l"}`))
		if err != nil {
			t.Fatalf("DecodeBasic() error = %v", err)
		}
		if got := req.(*protocol.OrderNotifyRequest).TestFlag; got != 0 {
			t.Errorf("DecodeBasic() testFlag = %d, want 0", got)
		}
	})
	for _, raw := range []string{`"yes"`, `true`, `10`, `-1`, `"1.0"`, `1.5`, `{}`, `[1]`} {
		t.Run("bad testFlag "+raw, func(t *testing.T) {
			body := `{"activity":"orderNotify","testFlag":` + raw + `,"orderId":"o","orderLineId":"l"}`
			_, err := protocol.DecodeBasic([]byte(body))
			checkFieldError(t, "DecodeBasic("+body+")", err, "testFlag")
		})
	}
	t.Run("bad kit flag", func(t *testing.T) {
		body := `{"instanceId":"i","tenantId":"t","testFlag":0,"timeStamp":"20260101080000000","tenantCode":"c","flag":"add"}`
		_, err := protocol.DecodeKit("tenantSync", []byte(body))
		checkFieldError(t, "DecodeKit("+body+")", err, "flag")
	})
}

func TestStringFlagMarshal(t *testing.T) {
	for _, f := range []protocol.StringFlag{0, 1, 2} {
		b, err := json.Marshal(f)
		if want := fmt.Sprintf(`"%d"`, f); err != nil || string(b) != want {
			t.Errorf("json.Marshal(StringFlag(%d)) = %s, %v, want %s, nil", f, b, err, want)
		}
	}
	b, err := json.Marshal(protocol.NumberFlag(3))
	if err != nil || string(b) != "3" {
		t.Errorf("json.Marshal(NumberFlag(3)) = %s, %v, want 3, nil", b, err)
	}
}

func TestDecodeIgnoresUnknownFields(t *testing.T) {
	tests := []struct {
		name string
		a    protocol.Activity
		body string
		want protocol.Request
	}{
		{"basic", protocol.NewInstance,
			`{"activity":"newInstance","testFlag":"0","businessId":"b","orderId":"o","orderLineId":"l","saasExtendParams":"e30=","future":{"nested":[1,"two",null]},"productId":7}`,
			&protocol.NewInstanceRequest{BusinessID: "b", OrderID: "o", OrderLineID: "l"}},
		{"nested", protocol.ChangeInstanceCheck,
			`{"activity":"changeInstanceCheck","instanceId":"i","productInfo":{"productId":"p","skuCode":"s","productName":"n","region":"cn-north-4"}}`,
			&protocol.ChangeInstanceCheckRequest{InstanceID: "i", ProductInfo: protocol.ProductInfo{ProductID: "p", SKUCode: "s", ProductName: "n"}}},
		{"kit, activity member ignored", protocol.SingleOrgSync,
			`{"activity":"newInstance","instanceId":"i","tenantId":"t","testFlag":0,"timeStamp":"20260101080000000","orgCode":"c","orgName":"n","parentCode":"","flag":1,"extra":true}`,
			&protocol.SingleOrgSyncRequest{KitCommon: protocol.KitCommon{InstanceID: "i", TenantID: "t", TimeStamp: "20260101080000000"}, OrgCode: "c", OrgName: "n", Flag: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decode(tt.a, []byte(tt.body))
			if err != nil {
				t.Fatalf("decode(%s) error = %v", tt.body, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decode(%s) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

// checkFieldError checks that err is a *FieldError about field.
func checkFieldError(t *testing.T, call string, err error, field string) {
	t.Helper()
	var fe *protocol.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("%s error = %v (%T), want *FieldError{Field: %q}", call, err, err, field)
	}
	if fe.Field != field {
		t.Errorf("%s error field = %q, want %q (error: %v)", call, fe.Field, field, err)
	}
	if fe.Problem == "" || !strings.HasPrefix(fe.Error(), field+": ") {
		t.Errorf("%s error = %q, want %q followed by the problem", call, fe.Error(), field+": ")
	}
	if errors.Is(err, protocol.ErrMalformedBody) || errors.Is(err, protocol.ErrUnknownActivity) {
		t.Errorf("%s error = %v, want only a *FieldError", call, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	const newInst = `"businessId":"b","orderId":"o","orderLineId":"l"`
	tests := []struct {
		name  string
		kit   string // "" for DecodeBasic, else the kit name for DecodeKit
		body  string
		is    error  // a sentinel the error must match, or nil
		field string // else the field of the *FieldError
	}{
		{name: "not JSON", body: `activity=newInstance`, is: protocol.ErrMalformedBody},
		{name: "array", body: `[{"activity":"newInstance"}]`, is: protocol.ErrMalformedBody},
		{name: "empty", body: ``, is: protocol.ErrMalformedBody},
		{name: "blank", body: " \n\t", is: protocol.ErrMalformedBody},
		{name: "null", body: `null`, is: protocol.ErrMalformedBody},
		{name: "string", body: `"newInstance"`, is: protocol.ErrMalformedBody},
		{name: "truncated", body: `{"activity":"newInstance",` + newInst, is: protocol.ErrMalformedBody},
		{name: "trailing data", body: `{"activity":"newInstance",` + newInst + `} {}`, is: protocol.ErrMalformedBody},
		{name: "single quotes", body: `{'activity':'newInstance'}`, is: protocol.ErrMalformedBody},
		{name: "missing activity", body: `{` + newInst + `}`, field: "activity"},
		{name: "empty object", body: `{}`, field: "activity"},
		{name: "empty activity", body: `{"activity":"",` + newInst + `}`, field: "activity"},
		{name: "null activity", body: `{"activity":null,` + newInst + `}`, field: "activity"},
		{name: "activity as number", body: `{"activity":1,` + newInst + `}`, field: "activity"},
		{name: "unknown activity", body: `{"activity":"deleteEverything",` + newInst + `}`, is: protocol.ErrUnknownActivity},
		{name: "activity in the wrong case", body: `{"activity":"NewInstance",` + newInst + `}`, is: protocol.ErrUnknownActivity},
		{name: "kit activity on the basic URL", body: `{"activity":"tenantSync","instanceId":"i","tenantId":"t","testFlag":0,"timeStamp":"20260101080000000","tenantCode":"c","flag":0}`, is: protocol.ErrUnknownActivity},
		{name: "orderId as number", body: `{"activity":"newInstance","businessId":"b","orderId":12345,"orderLineId":"l"}`, field: "orderId"},
		{name: "instanceId as array", body: `{"activity":"queryInstance","instanceId":["a","b"]}`, field: "instanceId"},
		{name: "productInfo as string", body: `{"activity":"changeInstanceCheck","instanceId":"i","productInfo":"p"}`, field: "productInfo"},
		{name: "linearValue as string", body: `{"activity":"changeInstanceCheck","instanceId":"i","productInfo":{"productId":"p","skuCode":"s","linearValue":"20"}}`, field: "productInfo.linearValue"},
		{name: "missing field", body: `{"activity":"newInstance","businessId":"b","orderLineId":"l"}`, field: "orderId"},
		{name: "kit: basic name", kit: "newInstance", body: `{}`, is: protocol.ErrUnknownActivity},
		{name: "kit: unknown name", kit: "userSync", body: `{}`, is: protocol.ErrUnknownActivity},
		{name: "kit: wrong case", kit: "TenantSync", body: `{}`, is: protocol.ErrUnknownActivity},
		{name: "kit: not JSON", kit: "tenantSync", body: `<xml/>`, is: protocol.ErrMalformedBody},
		{name: "kit: array", kit: "allOrgSync", body: `[]`, is: protocol.ErrMalformedBody},
		{name: "kit: empty", kit: "authSync", body: ``, is: protocol.ErrMalformedBody},
		{name: "kit: userList as object", kit: "authSync", body: `{"instanceId":"i","tenantId":"t","testFlag":0,"timeStamp":"20260101080000000","appId":"a","userList":{"userName":"u"},"flag":1}`, field: "userList"},
		{name: "kit: nested wrong type", kit: "allOrgSync", body: `{"instanceId":"i","tenantId":"t","testFlag":0,"timeStamp":"20260101080000000","orgInfoList":[{"orgCode":1}]}`, field: "orgInfoList.orgCode"},
		{name: "kit: tenantId as number", kit: "tenantSync", body: `{"instanceId":"i","tenantId":7,"testFlag":0,"timeStamp":"20260101080000000","tenantCode":"c","flag":0}`, field: "tenantId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req protocol.Request
			var err error
			call := "DecodeBasic(" + tt.body + ")"
			if tt.kit != "" {
				call = "DecodeKit(" + tt.kit + ", " + tt.body + ")"
				req, err = protocol.DecodeKit(tt.kit, []byte(tt.body))
			} else {
				req, err = protocol.DecodeBasic([]byte(tt.body))
			}
			if req != nil {
				t.Errorf("%s = %+v, want nil with the error", call, req)
			}
			if tt.is != nil {
				if !errors.Is(err, tt.is) {
					t.Errorf("%s error = %v, want errors.Is(err, %v)", call, err, tt.is)
				}
				var fe *protocol.FieldError
				if errors.As(err, &fe) {
					t.Errorf("%s error = %v, a *FieldError, want only %v", call, err, tt.is)
				}
				return
			}
			checkFieldError(t, call, err, tt.field)
		})
	}
}

// Validate names the first missing or malformed field of each interface.
func TestValidate(t *testing.T) {
	type change struct {
		name  string
		req   protocol.Request
		field string // "" when the changed request is still valid
	}
	var tests []change
	add := func(name string, req protocol.Request, field string) {
		tests = append(tests, change{name, req, field})
	}
	fresh := func(a protocol.Activity) protocol.Request {
		for _, r := range fullRequests() {
			if r.Activity() == a {
				return r
			}
		}
		panic("no fixture for " + a)
	}
	// edit returns a fresh full request of a, changed by f.
	edit := func(a protocol.Activity, f func(r protocol.Request)) protocol.Request {
		r := fresh(a)
		f(r)
		return r
	}

	// Required string fields, blanked one at a time (and whitespace-only).
	required := []struct {
		a      protocol.Activity
		fields map[string]string // JSON name → Go field path
	}{
		{protocol.NewInstance, map[string]string{"businessId": "BusinessID", "orderId": "OrderID", "orderLineId": "OrderLineID"}},
		{protocol.QueryInstance, map[string]string{"instanceId": "InstanceID"}},
		{protocol.RefreshInstance, map[string]string{"scene": "Scene", "orderId": "OrderID", "orderLineId": "OrderLineID", "instanceId": "InstanceID", "expireTime": "ExpireTime"}},
		{protocol.UpdateInstanceStatus, map[string]string{"instanceId": "InstanceID", "status": "Status"}},
		{protocol.ReleaseInstance, map[string]string{"instanceId": "InstanceID"}},
		{protocol.UpgradeInstance, map[string]string{"instanceId": "InstanceID", "orderId": "OrderID", "orderLineId": "OrderLineID"}},
		{protocol.ChangeInstanceCheck, map[string]string{"instanceId": "InstanceID", "productInfo.productId": "ProductInfo.ProductID", "productInfo.skuCode": "ProductInfo.SKUCode"}},
		{protocol.OrderNotify, map[string]string{"orderId": "OrderID", "orderLineId": "OrderLineID"}},
		{protocol.RefreshLicenseCode, map[string]string{"scene": "Scene", "orderId": "OrderID", "orderLineId": "OrderLineID", "license": "License", "expireTime": "ExpireTime"}},
		{protocol.UpdateLicenseCodeStatus, map[string]string{"license": "License", "status": "Status"}},
		{protocol.ReleaseLicenseCode, map[string]string{"license": "License"}},
		{protocol.TenantSync, map[string]string{"instanceId": "InstanceID", "tenantId": "TenantID", "timeStamp": "TimeStamp", "tenantCode": "TenantCode", "orderId": "OrderID", "name": "Name", "domainName": "DomainName"}},
		{protocol.ApplicationSync, map[string]string{"instanceId": "InstanceID", "tenantId": "TenantID", "timeStamp": "TimeStamp", "appId": "AppID", "clientId": "ClientID", "clientSecret": "ClientSecret"}},
		{protocol.AuthSync, map[string]string{"instanceId": "InstanceID", "tenantId": "TenantID", "timeStamp": "TimeStamp", "appId": "AppID"}},
		{protocol.SingleOrgSync, map[string]string{"instanceId": "InstanceID", "tenantId": "TenantID", "timeStamp": "TimeStamp", "orgCode": "OrgCode", "orgName": "OrgName"}},
		{protocol.AllOrgSync, map[string]string{"instanceId": "InstanceID", "tenantId": "TenantID", "timeStamp": "TimeStamp"}},
	}
	setField := func(r protocol.Request, path, value string) {
		v := reflect.ValueOf(r).Elem()
		for _, name := range strings.Split(path, ".") {
			v = v.FieldByName(name)
		}
		v.SetString(value)
	}
	for _, rq := range required {
		for field, path := range rq.fields {
			add(string(rq.a)+" without "+field, edit(rq.a, func(r protocol.Request) { setField(r, path, "") }), field)
			if field != "scene" && field != "status" && field != "expireTime" && field != "timeStamp" {
				add(string(rq.a)+" with blank "+field, edit(rq.a, func(r protocol.Request) { setField(r, path, " \t") }), field)
			}
		}
	}

	// Optional fields may be empty.
	add("refreshInstance without productId", edit(protocol.RefreshInstance, func(r protocol.Request) { r.(*protocol.RefreshInstanceRequest).ProductID = "" }), "")
	add("releaseInstance without order", edit(protocol.ReleaseInstance, func(r protocol.Request) {
		r.(*protocol.ReleaseInstanceRequest).OrderID, r.(*protocol.ReleaseInstanceRequest).OrderLineID = "", ""
	}), "")
	add("changeInstanceCheck without linearValue and productName", edit(protocol.ChangeInstanceCheck, func(r protocol.Request) {
		r.(*protocol.ChangeInstanceCheckRequest).ProductInfo.LinearValue = nil
		r.(*protocol.ChangeInstanceCheckRequest).ProductInfo.ProductName = ""
	}), "")
	add("releaseLicenseCode without order", &protocol.ReleaseLicenseCodeRequest{License: "L"}, "")
	add("singleOrgSync at top level", edit(protocol.SingleOrgSync, func(r protocol.Request) { r.(*protocol.SingleOrgSyncRequest).ParentCode = "" }), "")
	add("allOrgSync with no departments", edit(protocol.AllOrgSync, func(r protocol.Request) { r.(*protocol.AllOrgSyncRequest).OrgInfoList = nil }), "")

	// Enumerations and formats.
	for _, scene := range []string{protocol.SceneTrialToFormal, protocol.SceneRenewal, protocol.SceneUnsubscribeRenewalPeriod, protocol.SceneRenewalChange} {
		add("refreshInstance scene "+scene, edit(protocol.RefreshInstance, func(r protocol.Request) { r.(*protocol.RefreshInstanceRequest).Scene = scene }), "")
	}
	add("refreshInstance scene renewal", edit(protocol.RefreshInstance, func(r protocol.Request) { r.(*protocol.RefreshInstanceRequest).Scene = "renewal" }), "scene")
	add("refreshLicenseCode scene TRIAL_TO_FORMAL", edit(protocol.RefreshLicenseCode, func(r protocol.Request) {
		r.(*protocol.RefreshLicenseCodeRequest).Scene = protocol.SceneTrialToFormal
	}), "scene")
	add("refreshInstance expireTime with dashes", edit(protocol.RefreshInstance, func(r protocol.Request) {
		r.(*protocol.RefreshInstanceRequest).ExpireTime = "2027-01-01 00:00:00"
	}), "expireTime")
	add("refreshInstance expireTime in ms", edit(protocol.RefreshInstance, func(r protocol.Request) {
		r.(*protocol.RefreshInstanceRequest).ExpireTime = "20270101000000000"
	}), "expireTime")
	add("refreshLicenseCode expireTime 30 February", edit(protocol.RefreshLicenseCode, func(r protocol.Request) {
		r.(*protocol.RefreshLicenseCodeRequest).ExpireTime = "20270230000000"
	}), "expireTime")
	add("updateInstanceStatus status PAUSE", edit(protocol.UpdateInstanceStatus, func(r protocol.Request) {
		r.(*protocol.UpdateInstanceStatusRequest).Status = "PAUSE"
	}), "status")
	add("updateLicenseCodeStatus status freeze", edit(protocol.UpdateLicenseCodeStatus, func(r protocol.Request) {
		r.(*protocol.UpdateLicenseCodeStatusRequest).Status = "freeze"
	}), "status")

	// queryInstance: at most 100 ids, blanks between commas ignored.
	ids := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf("ins-%d", i)
		}
		return strings.Join(s, ",")
	}
	add("queryInstance 100 ids", &protocol.QueryInstanceRequest{InstanceID: ids(100)}, "")
	add("queryInstance 101 ids", &protocol.QueryInstanceRequest{InstanceID: ids(101)}, "instanceId")
	add("queryInstance 100 ids and blanks", &protocol.QueryInstanceRequest{InstanceID: ids(100) + ", ,,"}, "")
	add("queryInstance only commas", &protocol.QueryInstanceRequest{InstanceID: " , ,"}, "instanceId")

	// Kit common fields.
	add("tenantSync testFlag 2", edit(protocol.TenantSync, func(r protocol.Request) { r.(*protocol.TenantSyncRequest).TestFlag = 2 }), "testFlag")
	add("tenantSync timeStamp without ms", edit(protocol.TenantSync, func(r protocol.Request) { r.(*protocol.TenantSyncRequest).TimeStamp = "20260101080000" }), "timeStamp")
	add("tenantSync timeStamp not a time", edit(protocol.TenantSync, func(r protocol.Request) { r.(*protocol.TenantSyncRequest).TimeStamp = "2026010108000012x" }), "timeStamp")

	// Kit flags: 0 delete, 1 add, 2 modify, 3 revoke (authSync only).
	add("tenantSync flag 3", edit(protocol.TenantSync, func(r protocol.Request) { r.(*protocol.TenantSyncRequest).Flag = protocol.FlagRevoke }), "flag")
	add("applicationSync flag 3", edit(protocol.ApplicationSync, func(r protocol.Request) { r.(*protocol.ApplicationSyncRequest).Flag = protocol.FlagRevoke }), "flag")
	add("singleOrgSync flag 3", edit(protocol.SingleOrgSync, func(r protocol.Request) { r.(*protocol.SingleOrgSyncRequest).Flag = protocol.FlagRevoke }), "flag")
	add("authSync flag 4", edit(protocol.AuthSync, func(r protocol.Request) { r.(*protocol.AuthSyncRequest).Flag = 4 }), "flag")
	for _, f := range []protocol.NumberFlag{0, 1, 2, 3} {
		add(fmt.Sprint("authSync flag ", f), edit(protocol.AuthSync, func(r protocol.Request) { r.(*protocol.AuthSyncRequest).Flag = f }), "")
	}
	// A delete carries only the key.
	add("tenantSync delete", &protocol.TenantSyncRequest{KitCommon: kitCommon(), TenantCode: "acme", Flag: protocol.FlagDelete}, "")
	add("tenantSync add without name", edit(protocol.TenantSync, func(r protocol.Request) { r.(*protocol.TenantSyncRequest).Name = "" }), "name")
	add("applicationSync delete", &protocol.ApplicationSyncRequest{KitCommon: kitCommon(), AppID: "app-1", Flag: protocol.FlagDelete}, "")
	add("singleOrgSync delete", &protocol.SingleOrgSyncRequest{KitCommon: kitCommon(), OrgCode: "dept-1", Flag: protocol.FlagDelete}, "")

	// authSync user list.
	users := func(n int) []protocol.User {
		u := make([]protocol.User, n)
		for i := range u {
			u[i] = protocol.User{UserName: fmt.Sprint("u", i), Role: "user", Enable: "true"}
		}
		return u
	}
	add("authSync no users", edit(protocol.AuthSync, func(r protocol.Request) { r.(*protocol.AuthSyncRequest).UserList = nil }), "userList")
	add("authSync empty user list", edit(protocol.AuthSync, func(r protocol.Request) { r.(*protocol.AuthSyncRequest).UserList = []protocol.User{} }), "userList")
	add("authSync 500 users", edit(protocol.AuthSync, func(r protocol.Request) { r.(*protocol.AuthSyncRequest).UserList = users(500) }), "")
	add("authSync 501 users", edit(protocol.AuthSync, func(r protocol.Request) { r.(*protocol.AuthSyncRequest).UserList = users(501) }), "userList")
	add("authSync user without userName", edit(protocol.AuthSync, func(r protocol.Request) { r.(*protocol.AuthSyncRequest).UserList[1].UserName = "" }), "userList.userName")
	add("allOrgSync department without orgCode", edit(protocol.AllOrgSync, func(r protocol.Request) { r.(*protocol.AllOrgSyncRequest).OrgInfoList[1].OrgCode = "" }), "orgInfoList.orgCode")

	// The first problem wins.
	add("newInstance with nothing", &protocol.NewInstanceRequest{}, "businessId")
	add("tenantSync with nothing", &protocol.TenantSyncRequest{Flag: protocol.FlagAdd}, "instanceId")

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			if tt.field == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			checkFieldError(t, "Validate()", err, tt.field)
			// The seller sees the same error from decoding the body.
			body := mustEncode(t, tt.req)
			if _, err := decode(tt.req.Activity(), body); err == nil {
				t.Errorf("decode(%s) error = nil, want the Validate error", body)
			} else {
				checkFieldError(t, "decode()", err, tt.field)
			}
		})
	}
}

func TestQueryInstanceIDs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"ins-1", []string{"ins-1"}},
		{"ins-1,ins-2", []string{"ins-1", "ins-2"}},
		{" ins-1 , ,ins-2,", []string{"ins-1", "ins-2"}},
		{"", nil},
	}
	for _, tt := range tests {
		r := &protocol.QueryInstanceRequest{InstanceID: tt.in}
		if got := r.IDs(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("IDs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
