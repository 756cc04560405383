package protocol

// The kit interfaces (§4), for joint-operation enterprises. Every body has
// the KitCommon fields; flag is 0 delete, 1 add, 2 modify, 3 revoke (authSync).

// KitCommon holds the fields every kit body carries.
type KitCommon struct {
	InstanceID string     `json:"instanceId"`
	TenantID   string     `json:"tenantId"`
	TestFlag   NumberFlag `json:"testFlag"`
	// TimeStamp is yyyyMMddHHmmssSSS in Profile.KitTimeZone (GMT+8).
	TimeStamp string `json:"timeStamp"`
}

func (c *KitCommon) check(f *fields) {
	f.required("instanceId", c.InstanceID)
	f.required("tenantId", c.TenantID)
	f.flag("testFlag", int(c.TestFlag), 1)
	if c.TimeStamp == "" {
		f.fail("timeStamp", "is required")
	} else if _, err := ParseMilli(c.TimeStamp, Default.KitTimeZone); err != nil {
		f.fail("timeStamp", "is %q, want yyyyMMddHHmmssSSS", c.TimeStamp)
	}
}

// TenantSyncRequest binds an enterprise (tenant) to an app, renames it, or
// unbinds it.
type TenantSyncRequest struct {
	KitCommon
	OrderID    string     `json:"orderId"`
	TenantCode string     `json:"tenantCode"`
	Name       string     `json:"name"`
	DomainName string     `json:"domainName"`
	Flag       NumberFlag `json:"flag"`
}

func (*TenantSyncRequest) Activity() Activity { return TenantSync }
func (r *TenantSyncRequest) Validate() error {
	var f fields
	r.check(&f)
	f.required("tenantCode", r.TenantCode)
	f.flag("flag", int(r.Flag), FlagModify)
	if r.Flag != FlagDelete {
		f.required("orderId", r.OrderID)
		f.required("name", r.Name)
		f.required("domainName", r.DomainName)
	}
	return f.result()
}

// ApplicationSyncRequest hands the seller the app credential of an
// enterprise. ClientSecret is RSA-OAEP encrypted (EncryptClientSecret).
type ApplicationSyncRequest struct {
	KitCommon
	AppID        string     `json:"appId"`
	ClientID     string     `json:"clientId"`
	ClientSecret string     `json:"clientSecret"`
	Flag         NumberFlag `json:"flag"`
}

func (*ApplicationSyncRequest) Activity() Activity { return ApplicationSync }
func (r *ApplicationSyncRequest) Validate() error {
	var f fields
	r.check(&f)
	f.required("appId", r.AppID)
	f.flag("flag", int(r.Flag), FlagModify)
	if r.Flag != FlagDelete {
		f.required("clientId", r.ClientID)
		f.required("clientSecret", r.ClientSecret)
	}
	return f.result()
}

// User is one enterprise member in an authSync.
type User struct {
	UserName     string `json:"userName"`
	Name         string `json:"name"`
	OrgCode      string `json:"orgCode"`
	Role         string `json:"role"`   // "user" or "admin"
	Enable       string `json:"enable"` // "true" or "false"
	Position     string `json:"position,omitempty"`
	EmployeeCode string `json:"employeeCode,omitempty"`
	Mobile       string `json:"mobile,omitempty"`
	Email        string `json:"email,omitempty"`
}

// AuthSyncRequest grants, changes or revokes members' access to the app.
type AuthSyncRequest struct {
	KitCommon
	AppID           string     `json:"appId"`
	UserList        []User     `json:"userList"`
	CurrentSyncTime string     `json:"currentSyncTime"`
	Flag            NumberFlag `json:"flag"`
}

func (*AuthSyncRequest) Activity() Activity { return AuthSync }
func (r *AuthSyncRequest) Validate() error {
	var f fields
	r.check(&f)
	f.required("appId", r.AppID)
	f.flag("flag", int(r.Flag), FlagRevoke)
	if len(r.UserList) == 0 {
		f.fail("userList", "is required")
	} else if len(r.UserList) > Default.MaxAuthSyncUsers {
		f.fail("userList", "has %d users, at most %d allowed", len(r.UserList), Default.MaxAuthSyncUsers)
	}
	for i := range r.UserList {
		if r.UserList[i].UserName == "" {
			f.fail("userList.userName", "is required (user %d)", i)
		}
	}
	return f.result()
}

// SingleOrgSyncRequest adds, renames or removes one department.
type SingleOrgSyncRequest struct {
	KitCommon
	OrgCode    string     `json:"orgCode"`
	OrgName    string     `json:"orgName"`
	ParentCode string     `json:"parentCode"` // empty: top level
	Flag       NumberFlag `json:"flag"`
}

func (*SingleOrgSyncRequest) Activity() Activity { return SingleOrgSync }
func (r *SingleOrgSyncRequest) Validate() error {
	var f fields
	r.check(&f)
	f.required("orgCode", r.OrgCode)
	f.flag("flag", int(r.Flag), FlagModify)
	if r.Flag != FlagDelete {
		f.required("orgName", r.OrgName)
	}
	return f.result()
}

// Org is one department of an allOrgSync.
type Org struct {
	OrgCode    string `json:"orgCode"`
	OrgName    string `json:"orgName"`
	ParentCode string `json:"parentCode"`
}

// AllOrgSyncRequest sends the enterprise's whole department tree.
type AllOrgSyncRequest struct {
	KitCommon
	OrgInfoList []Org `json:"orgInfoList"`
}

func (*AllOrgSyncRequest) Activity() Activity { return AllOrgSync }
func (r *AllOrgSyncRequest) Validate() error {
	var f fields
	r.check(&f)
	for i := range r.OrgInfoList {
		if r.OrgInfoList[i].OrgCode == "" {
			f.fail("orgInfoList.orgCode", "is required (department %d)", i)
		}
	}
	return f.result()
}
