package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/notify"
)

// Inboxes: a seller's (/seller/inbox) and a user's own (/my/inbox, where
// the order package tells a buyer of a failed purchase, an expiry, a
// release). Each page is one recipient's notify inbox, newest first, a
// page at a time; ?unread=1 shows the unread ones only.

type inboxData struct {
	Base     string // the inbox's path
	Messages []notify.Message
	Unread   int
	OnlyNew  bool
	Pager    pager
}

// inbox shows recipient's inbox at path base; the caller has checked that
// the visitor may read it.
func (s *Server) inbox(w http.ResponseWriter, r *http.Request, recipient, base string) error {
	ctx, q := r.Context(), r.URL.Query()
	f := notify.InboxFilter{Unread: q.Get("unread") != "", Limit: pageSize + 1}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return souk.Errorf(souk.EINVALID, "before: %q is not a message id.", b)
		}
		f.BeforeID = n
	}
	ms, err := notify.Inbox(ctx, s.db, recipient, f)
	if err != nil {
		return err
	}
	d := inboxData{Base: base, OnlyNew: f.Unread}
	var more bool
	d.Messages, more = pageOf(ms)
	if len(d.Messages) > 0 {
		d.Pager = newPager(r, "before", more, strconv.FormatInt(d.Messages[len(d.Messages)-1].ID, 10))
	}
	if d.Unread, err = notify.UnreadCount(ctx, s.db, recipient); err != nil {
		return err
	}
	return s.show(w, r, "inbox", d)
}

// markRead marks message {id} of recipient read and goes back to the
// inbox at base.
func (s *Server) markRead(w http.ResponseWriter, r *http.Request, recipient, base string) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return souk.Errorf(souk.ENOTFOUND, "Message %s not found.", r.PathValue("id"))
	}
	if err := notify.MarkRead(r.Context(), s.db, recipient, id); err != nil {
		return err
	}
	next := safeNext(r.PostForm.Get("next"))
	if !strings.HasPrefix(next, base) {
		next = base
	}
	return s.seeOther(w, r, next, "Marked as read.")
}
