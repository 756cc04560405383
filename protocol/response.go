package protocol

// Result is the part every answer has (§1): resultCode and resultMsg.
type Result struct {
	ResultCode Code   `json:"resultCode"`
	ResultMsg  string `json:"resultMsg"`
}

// AppInfo is how the buyer reaches an instance. UserName and Password, when
// set, are encrypted with EncryptField (§2.4).
type AppInfo struct {
	FrontEndURL string `json:"frontEndUrl"`
	AdminURL    string `json:"adminUrl,omitempty"`
	UserName    string `json:"userName,omitempty"`
	Password    string `json:"password,omitempty"`
	Memo        string `json:"memo,omitempty"`
}

// NewInstanceResponse answers newInstance: the instance and how to reach
// it, or CodeAccepted with at least the InstanceID while it provisions.
type NewInstanceResponse struct {
	Result
	InstanceID  string     `json:"instanceId,omitempty"`
	EncryptType NumberFlag `json:"encryptType,omitempty"`
	AppInfo     *AppInfo   `json:"appInfo,omitempty"`
}

// Ready reports whether the answer carries final instance info.
func (r *NewInstanceResponse) Ready() bool {
	return r.ResultCode == CodeSuccess && r.InstanceID != "" && r.AppInfo != nil && r.AppInfo.FrontEndURL != ""
}

// Usage is one usage reading of an instance.
type Usage struct {
	RelatedInstanceID string `json:"relatedInstanceId"`
	UsageValue        string `json:"usageValue"`
	StatisticalTime   string `json:"statisticalTime"` // yyyyMMddHHmmssSSS
	DashboardURL      string `json:"dashboardUrl,omitempty"`
}

// InstanceInfo is one instance in a queryInstance answer. AppInfo is nil
// while the instance is still provisioning.
type InstanceInfo struct {
	InstanceID string   `json:"instanceId"`
	AppInfo    *AppInfo `json:"appInfo,omitempty"`
	UsageInfo  []Usage  `json:"usageInfo,omitempty"`
}

// Ready reports whether the instance has finished provisioning.
func (i *InstanceInfo) Ready() bool { return i.AppInfo != nil && i.AppInfo.FrontEndURL != "" }

// QueryInstanceResponse answers queryInstance.
type QueryInstanceResponse struct {
	Result
	EncryptType NumberFlag     `json:"encryptType,omitempty"`
	Info        []InstanceInfo `json:"info"`
}
