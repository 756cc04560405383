package refseller

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strings"
)

// The app itself, as far as a reference seller needs one: the page behind
// frontEndUrl (GET /app/{instanceId}) and adminUrl (…/admin), so that the
// URLs handed to buyers lead somewhere real.

var appTemplate = template.Must(template.New("app").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Souk Notes · {{.Instance.ID}}</title></head>
<body>
<h1>Souk Notes{{if .Admin}} · administration{{end}}</h1>
{{- with .Instance}}
<p id="state" class="{{.State}}">
{{- if eq .State "provisioning"}}This workspace is being prepared.
{{- else if eq .State "frozen"}}This workspace is frozen: renew the subscription to use it again.
{{- else if eq .State "released"}}This workspace was released.
{{- else}}This workspace is ready.{{end}}</p>
<dl>
<dt>Instance</dt><dd id="instance">{{.ID}}</dd>
<dt>State</dt><dd>{{.State}}</dd>
<dt>Order</dt><dd>{{.OrderID}} line {{.OrderLineID}}</dd>
<dt>Expires</dt><dd>{{if .ExpireTime}}{{.ExpireTime}} UTC{{else}}not set{{end}}</dd>
<dt>Created</dt><dd>{{.CreatedAt.Format "2006-01-02 15:04:05 UTC"}}</dd>
</dl>
{{- end}}
{{- if .Admin}}
<h2>Users</h2>
{{- if .Users}}
<table id="users"><tr><th>User</th><th>Name</th><th>Role</th><th>Enabled</th></tr>
{{- range .Users}}
<tr><td>{{.Key}}</td><td>{{.Name}}</td><td>{{.Role}}</td><td>{{.Enable}}</td></tr>
{{- end}}
</table>
{{- else}}
<p>No users synchronised from an enterprise.</p>
{{- end}}
{{- end}}
</body>
</html>
`))

type appUser struct{ Key, Name, Role, Enable string }

type appView struct {
	Instance *instance
	Admin    bool
	Users    []appUser
}

// appPage shows an instance: 404 if the seller never created it, 410 once
// it is released.
func (s *Server) appPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("instanceId")
	inst, err := s.notes.load(r.Context(), id)
	if err != nil {
		s.log.Error("app page", "instance", id, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if inst == nil {
		http.Error(w, "no Souk Notes workspace "+id, http.StatusNotFound)
		return
	}
	view := appView{Instance: inst, Admin: strings.HasSuffix(r.URL.Path, "/admin")}
	if view.Admin {
		if view.Users, err = s.notes.users(r.Context(), id); err != nil {
			s.log.Error("app page", "instance", id, "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	var buf bytes.Buffer
	if err := appTemplate.Execute(&buf, view); err != nil {
		s.log.Error("app page", "instance", id, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	status := http.StatusOK
	if inst.State == stateReleased {
		status = http.StatusGone
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// users lists the kit users of an instance, at most 500 (one authSync's
// worth) on a page this small.
func (n *notes) users(ctx context.Context, instanceID string) ([]appUser, error) {
	rows, err := n.db.QueryContext(ctx, `SELECT user_key, name, role, enable FROM users
		WHERE instance_id = ? ORDER BY user_key LIMIT 500`, instanceID)
	if err != nil {
		return nil, fmt.Errorf("users of %s: %w", instanceID, err)
	}
	defer rows.Close()
	var users []appUser
	for rows.Next() {
		var u appUser
		if err := rows.Scan(&u.Key, &u.Name, &u.Role, &u.Enable); err != nil {
			return nil, fmt.Errorf("users of %s: %w", instanceID, err)
		}
		users = append(users, u)
	}
	return users, rows.Err()
}
