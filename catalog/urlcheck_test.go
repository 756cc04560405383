package catalog_test

import (
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
)

func TestCheckProductionURL(t *testing.T) {
	tests := []struct {
		url        string
		strict     string // the code without AllowPrivateURLs ("" = accepted)
		permissive string // with it
	}{
		{"https://isv.example.com/produce", "", ""},
		{"https://isv.example.com:8443/produce?tenant=acme", "", ""},
		{"https://203.0.113.7/produce", "", ""},
		{"https://[2001:db8::1]/produce", "", ""},
		{"https://ISV.Example.COM./produce", "", ""},

		{"http://isv.example.com/produce", souk.EINVALID, souk.EINVALID},
		{"ftp://isv.example.com/produce", souk.EINVALID, souk.EINVALID},
		{"isv.example.com/produce", souk.EINVALID, souk.EINVALID},
		{"https:///produce", souk.EINVALID, souk.EINVALID},
		{"https://user:secret@isv.example.com/produce", souk.EINVALID, souk.EINVALID},
		{"", souk.EINVALID, souk.EINVALID},
		{"https://127.1/produce", souk.EINVALID, souk.EINVALID},
		{"https://2130706433/produce", souk.EINVALID, souk.EINVALID},
		{"https://0x7f000001/produce", souk.EINVALID, souk.EINVALID},

		{"https://127.0.0.1/produce", souk.EINVALID, ""},
		{"https://127.0.0.1:8443/produce", souk.EINVALID, ""},
		{"https://10.0.0.1/produce", souk.EINVALID, ""},
		{"https://172.16.5.4/produce", souk.EINVALID, ""},
		{"https://192.168.1.1/produce", souk.EINVALID, ""},
		{"https://169.254.1.1/produce", souk.EINVALID, ""},
		{"https://169.254.169.254/latest/meta-data", souk.EINVALID, ""},
		{"https://100.64.0.1/produce", souk.EINVALID, ""},
		{"https://0.0.0.0/produce", souk.EINVALID, ""},
		{"https://[::1]/produce", souk.EINVALID, ""},
		{"https://[::ffff:127.0.0.1]/produce", souk.EINVALID, ""},
		{"https://[fe80::1%25eth0]/produce", souk.EINVALID, ""},
		{"https://[fd00::1]/produce", souk.EINVALID, ""},
		{"https://localhost/produce", souk.EINVALID, ""},
		{"https://LOCALHOST:8443/produce", souk.EINVALID, ""},
		{"https://seller.localhost/produce", souk.EINVALID, ""},

		// Plain HTTP: only to this machine, only in development.
		{"http://127.0.0.1:8081/produce", souk.EINVALID, ""},
		{"http://[::1]:8081/produce", souk.EINVALID, ""},
		{"http://localhost:8081/produce", souk.EINVALID, ""},
		{"http://10.0.0.1/produce", souk.EINVALID, souk.EINVALID},
		{"http://203.0.113.7/produce", souk.EINVALID, souk.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := catalog.CheckProductionURL(tt.url, false)
			wantCode(t, "CheckProductionURL(strict)", err, tt.strict)
			if err != nil && souk.ErrorMessage(err)[:len("productionUrl:")] != "productionUrl:" {
				t.Errorf("CheckProductionURL() = %v, want a message naming productionUrl", err)
			}
			wantCode(t, "CheckProductionURL(AllowPrivateURLs)", catalog.CheckProductionURL(tt.url, true), tt.permissive)
		})
	}
}
