package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/souk-market/souk/store/storetest"
)

// The harness of the browser tests: a headless Chromium driven through the
// DevTools protocol (chromedp), one browser context — its own cookies —
// per person, and full-page screenshots kept for a person to look at.

// chromiumPath returns the Chromium to drive: $SOUK_CHROMIUM when set (and
// only it), else /usr/bin/chromium, else one on the PATH. Without one the
// test skips, or fails when SOUK_TEST_REQUIRE names chromium (CI).
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("SOUK_CHROMIUM")}
	if candidates[0] == "" {
		candidates = []string{"/usr/bin/chromium"}
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				candidates = append(candidates, p)
			}
		}
	}
	for _, p := range candidates {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	where := strings.Join(candidates, ", ")
	if storetest.Required("chromium") {
		t.Fatalf("SOUK_TEST_REQUIRE names chromium but there is no Chromium at %s (set SOUK_CHROMIUM, or install the Debian packages chromium and chromium-driver)", where)
	}
	t.Skipf("no Chromium at %s (set SOUK_CHROMIUM, or install the Debian package chromium)", where)
	return ""
}

// chrome is one headless Chromium process, stopped when the test ends.
type chrome struct {
	t   *testing.T
	ctx context.Context // the browser's: a tab's context derives from it
	// shots is the folder screenshots are saved in.
	shots string
}

func startChrome(t *testing.T) *chrome {
	t.Helper()
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(f string, a ...any) {
		// chromedp reports protocol messages it does not know; they are
		// harmless with a newer Chromium.
		if !strings.Contains(f, "unhandled") {
			t.Logf("chromedp: "+f, a...)
		}
	}))
	// The first action starts the browser, which lives as long as the
	// context given to it: no timeout here.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return &chrome{t: t, ctx: ctx, shots: screenshotDir(t)}
}

// screenshotDir is where the screenshots go: $SOUK_TEST_ARTIFACTS/screenshots,
// else test-output/screenshots at the repository's root (ignored by git).
func screenshotDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("SOUK_TEST_ARTIFACTS")
	if base == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		base = filepath.Join(filepath.Dir(wd), "test-output") // the test runs in web/
	}
	dir := filepath.Join(base, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tab is one person's browser: its own browser context (cookies), one
// page.
type tab struct {
	t     *testing.T
	c     *chrome
	ctx   context.Context
	base  string
	name  string
	shots bool
}

// newTab opens a browser for who, with cookies of its own, on the site at
// base, closed when the test that started the browser ends.
func (c *chrome) newTab(who, base string) *tab {
	c.t.Helper()
	return c.newTabIn(c.t, who, base, true)
}

// newTabIn is newTab for a subtest t: the tab is closed when t ends, and
// its screenshots (shot) are saved only when shots is set.
func (c *chrome) newTabIn(t *testing.T, who, base string, shots bool) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(c.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &tab{t: t, c: c, ctx: ctx, base: base, name: who, shots: shots}
	// The first action opens the tab, which lives as long as the context
	// given to it: no timeout here either.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("open a tab for %s: %v", who, err)
	}
	return b
}

// stepTimeout bounds each browser action.
const stepTimeout = 20 * time.Second

// do runs actions, failing the test with the page's text on error.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatalf("%s: %s: %v", b.name, what, err)
	}
}

// fatalf fails the test, saving a screenshot of the page and showing its
// address and text.
func (b *tab) fatalf(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		p := filepath.Join(b.c.shots, "FAILED-"+safeName(b.t.Name()+"-"+b.name)+".png")
		if os.WriteFile(p, png, 0o644) == nil {
			msg += "\nscreenshot: " + p
		}
	}
	b.t.Fatalf("%s\nat %s:\n%s", msg, loc, text)
}

// open navigates to path and fails unless the answer has status want.
func (b *tab) open(path string, want int64) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.url(path)))
	if err != nil {
		b.fatalf("%s: open %s: %v", b.name, path, err)
	}
	if resp.Status != want {
		b.fatalf("%s: open %s: status %d, want %d", b.name, path, resp.Status, want)
	}
}

func (b *tab) url(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return b.base + path
}

// fill types values into the fields of the form matched by form (a CSS
// selector), by name: pairs of name, value. A select gets its value set,
// a checkbox or radio is clicked to the value "on" (or its value).
func (b *tab) fill(form string, pairs ...string) {
	b.t.Helper()
	if len(pairs)%2 != 0 {
		b.t.Fatal("fill: odd pairs")
	}
	for i := 0; i < len(pairs); i += 2 {
		name, value := pairs[i], pairs[i+1]
		sel := fmt.Sprintf(`%s [name=%q]`, form, name)
		kind := b.eval(fmt.Sprintf(`(function(){var e=document.querySelector(%q); return e ? (e.type || e.tagName).toLowerCase() : "";})()`, sel))
		switch kind {
		case "":
			b.fatalf("%s: the form %s has no field %q", b.name, form, name)
		case "checkbox", "radio":
			rsel := sel
			if kind == "radio" || value != "on" {
				rsel = fmt.Sprintf(`%s [name=%q][value=%q]`, form, name, value)
			}
			checked := b.eval(fmt.Sprintf(`String(document.querySelector(%q).checked)`, rsel))
			if checked != "true" {
				b.do("tick "+name, chromedp.Click(chromedp.CSS(rsel)))
			}
		default:
			b.do("type "+name, chromedp.SetValue(chromedp.CSS(sel), value))
		}
	}
}

// eval returns the value of a JavaScript expression as a string.
func (b *tab) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.fatalf("%s: evaluate %s: %v", b.name, expr, err)
	}
	return v
}

// submit clicks the button matched by button (a CSS selector), waits for
// the page it leads to, and fails unless that page has status want (after
// redirects: a form that succeeded answers 303 and the page after is 200).
func (b *tab) submit(button string, want int64) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		b.fatalf("%s: click %s: %v", b.name, button, err)
	}
	if resp.Status != want {
		b.fatalf("%s: click %s: status %d, want %d", b.name, button, resp.Status, want)
	}
}

// text returns the visible text of the page.
func (b *tab) text() string {
	b.t.Helper()
	return b.eval(`document.body.innerText`)
}

// location returns the page's address, without the site's base.
func (b *tab) location() string {
	b.t.Helper()
	return strings.TrimPrefix(b.eval(`location.href`), b.base)
}

// mustSee fails unless the page shows every text.
func (b *tab) mustSee(texts ...string) {
	b.t.Helper()
	page := b.text()
	for _, s := range texts {
		if !strings.Contains(page, s) {
			b.fatalf("%s: the page does not show %q", b.name, s)
		}
	}
}

// reloadUntil reloads path until the page's text satisfies ok, or fails
// after timeout.
func (b *tab) reloadUntil(path string, timeout time.Duration, what string, ok func(text string) bool) string {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b.open(path, 200)
		text := b.text()
		if ok(text) {
			return text
		}
		if time.Now().After(deadline) {
			b.fatalf("%s: waited %s for %s", b.name, timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// href returns the path of the first link matched by the CSS selector sel.
func (b *tab) href(sel string) string {
	b.t.Helper()
	h := b.eval(fmt.Sprintf(`(function(){var a=document.querySelector(%q); return a ? a.getAttribute("href") : "";})()`, sel))
	if h == "" {
		b.fatalf("%s: no link %s", b.name, sel)
	}
	return h
}

// linkTo returns the path of the first link whose address matches re.
func (b *tab) linkTo(re string) string {
	b.t.Helper()
	links := b.eval(`Array.from(document.querySelectorAll("a[href]")).map(function(a){return a.getAttribute("href")}).join("\n")`)
	rx := regexp.MustCompile(re)
	for _, l := range strings.Split(links, "\n") {
		if rx.MatchString(l) {
			return l
		}
	}
	b.fatalf("%s: no link matching %s among:\n%s", b.name, re, links)
	return ""
}

// shot saves a full-page PNG of the page as name.png, at the tab's width;
// at width 375 too when narrow is set (name-375.png).
func (b *tab) shot(name string, narrow bool) {
	b.t.Helper()
	if !b.shots {
		return
	}
	b.saveShot(name + ".png")
	if narrow {
		b.do("narrow the viewport", chromedp.EmulateViewport(375, 800, chromedp.EmulateScale(1)))
		b.saveShot(name + "-375.png")
		b.do("widen the viewport", chromedp.EmulateViewport(1280, 900))
	}
}

func (b *tab) saveShot(file string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fatalf("%s: screenshot %s: %v", b.name, file, err)
	}
	if err := os.WriteFile(filepath.Join(b.c.shots, file), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func safeName(s string) string {
	return regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(s, "-")
}

// textOf returns the text of the first element matched by the CSS
// selector sel, "" when there is none.
func (b *tab) textOf(sel string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`(function(){var e=document.querySelector(%q); return e ? e.textContent.trim() : "";})()`, sel))
}

// has reports whether the page has an element matched by sel.
func (b *tab) has(sel string) bool {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`String(document.querySelector(%q) !== null)`, sel)) == "true"
}
