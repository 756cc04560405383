package delivery

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
)

// Targets tells the engine where and how to send a product's calls. The
// catalogue implements it; it may cache.
type Targets interface {
	Target(ctx context.Context, sellerID, productID string) (protocol.Target, error)
}

// Hooks let the domain react to a call's end in the same transaction that
// records it, so the business state and the message log never disagree.
// Either may be nil. An error rolls the outcome back; the call is then
// attempted again when its lease runs out.
type Hooks struct {
	// Succeeded runs when a call succeeds. For a newInstance that was
	// polled, o is the final queryInstance outcome.
	Succeeded func(ctx context.Context, tx *store.Tx, c *Call, o *protocol.Outcome) error
	// Exhausted runs when a call's policy gives up (not for calls that
	// await a decision).
	Exhausted func(ctx context.Context, tx *store.Tx, c *Call) error
	// Failed runs after every failed attempt, with the stage of the policy
	// the call is in (1 for the first failure, 2 once exhausted or awaiting
	// a decision); notify uses it to send at most one notice per stage.
	Failed func(ctx context.Context, tx *store.Tx, c *Call, stage int) error
	// Reinvoking runs when somebody asks to re-invoke c, before it is made
	// pending again; an error (a souk.Error: ECONFLICT, with why) refuses
	// the re-invocation. The business whose call it is says whether
	// sending it still makes sense — a newInstance of a purchase already
	// cancelled and refunded does not.
	Reinvoking func(ctx context.Context, tx *store.Tx, c *Call) error
}

// Config tunes an Engine. Zero values take the defaults in brackets.
type Config struct {
	// Node names this process in leases [a random id]. Give a node the
	// same name across restarts (souk serve: its host name) and it takes
	// back at start the calls it had in flight when it died; no two live
	// nodes may share a name.
	Node string
	// Workers is the number of calls sent concurrently [64].
	Workers int
	// PerSellerInFlight caps one seller's calls in flight [8].
	PerSellerInFlight int
	// Batch is the most calls claimed, or results written, in one
	// transaction [64].
	Batch int
	// Lease is how long a claimed call is this node's; it must outlast the
	// longest call timeout [the profile's MaxCallTimeout + 30 s].
	Lease time.Duration
	// Poll is the longest the dispatcher sleeps when nothing wakes it [1 s].
	Poll time.Duration
	// FlushEvery is the longest a result waits to be written with others
	// [2 ms].
	FlushEvery time.Duration
	Logger     *slog.Logger
	// Metrics, when set, records attempts, latency and lag.
	Metrics *Metrics
}

// Engine delivers calls. Start runs it, Stop shuts it down gracefully; it
// may be started again after a Stop.
type Engine struct {
	db      *store.DB
	client  *protocol.Client
	targets Targets
	hooks   Hooks
	cfg     Config
	log     *slog.Logger

	wake  chan struct{}
	idle  atomic.Int64    // workers not holding a call
	rr    int             // where the next claim starts among the sellers
	marks map[string]mark // where each seller's claims stopped in the index

	// life serialises Start and Stop: a Start waits for a Stop in
	// progress to finish.
	life sync.Mutex
	run  *run // the running engine; nil when stopped
}

// run is one Start-to-Stop life of the engine, with channels of its own so
// that nothing of one life can touch the next.
type run struct {
	cancel  context.CancelFunc
	work    chan *Call
	results chan result
	done    chan struct{}
}

// New returns an Engine over db that sends with client. Time comes from
// db's clock.
func New(db *store.DB, client *protocol.Client, targets Targets, hooks Hooks, cfg Config) *Engine {
	if cfg.Node == "" {
		cfg.Node = "node-" + client.Profile.NewNonce()[:8]
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.PerSellerInFlight <= 0 {
		cfg.PerSellerInFlight = 8
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	// A batch's results are written in one statement of 15 parameters a
	// call; PostgreSQL allows 65,535 parameters.
	cfg.Batch = min(cfg.Batch, 1000)
	if cfg.Lease <= 0 {
		cfg.Lease = client.Profile.MaxCallTimeout + 30*time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 2 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Engine{
		db: db, client: client, targets: targets, hooks: hooks, cfg: cfg,
		log:   cfg.Logger.With("node", cfg.Node),
		wake:  make(chan struct{}, 1),
		marks: make(map[string]mark),
	}
}

// Enqueue records c in tx (see the package function Enqueue) and wakes the
// dispatcher once tx commits.
func (e *Engine) Enqueue(ctx context.Context, tx *store.Tx, c NewCall) (int64, error) {
	id, err := Enqueue(ctx, tx, c)
	if err != nil {
		return 0, err
	}
	tx.AfterCommit(e.Wake)
	// Wake the other nodes too (PostgreSQL), once per transaction.
	if err := tx.Notify(ctx, notifyChannel); err != nil {
		return 0, err
	}
	return id, nil
}

// notifyChannel is the PostgreSQL channel on which enqueues wake every
// node's dispatcher.
const notifyChannel = "souk_delivery"

// Wake makes the dispatcher look for due calls now.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Start starts the dispatcher, the workers and the result writer. They run
// until Stop or until ctx ends. It returns an error if the engine is
// already running; an engine may be started again after Stop.
func (e *Engine) Start(ctx context.Context) error {
	e.life.Lock()
	defer e.life.Unlock()
	if e.run != nil {
		return errors.New("delivery engine already started")
	}
	// Calls in flight under this node's name were left by its previous
	// life, which died (a node never has two lives at once): take them
	// back now rather than when their leases run out (up to 90 s). On
	// SQLite, a database embedded in one server process, that is every
	// call in flight. Were two live nodes given one name, the worst this
	// does is send a call twice, which sellers must bear.
	q, args := `UPDATE delivery_calls SET lease_until = $1 WHERE state = 'in_flight' AND lease_until > $1`, []any{store.Millis(e.db.Clock().Now())}
	if e.db.Engine() != store.SQLite {
		q, args = q+` AND lease_owner = $2`, append(args, e.cfg.Node)
	}
	if _, err := e.db.SQL().ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("take back calls left in flight: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &run{cancel: cancel, work: make(chan *Call), results: make(chan result, e.cfg.Workers), done: make(chan struct{})}
	e.run = r
	e.idle.Store(int64(e.cfg.Workers))

	var workers, writer sync.WaitGroup
	writer.Add(1)
	go func() { defer writer.Done(); e.writeResults(r.results) }()
	for range e.cfg.Workers {
		workers.Add(1)
		go func() { defer workers.Done(); e.sendCalls(r.work, r.results) }()
	}
	go e.db.Listen(ctx, notifyChannel, e.Wake)
	go func() {
		e.dispatch(ctx, r.work)
		close(r.work) // workers finish the calls they hold, then stop
		workers.Wait()
		close(r.results)
		writer.Wait()
		close(r.done)
	}()
	return nil
}

// Stop stops claiming, lets the calls in flight finish (each within its
// timeout), writes their results and returns. Calls claimed but not yet
// started are released for any node to take.
func (e *Engine) Stop() {
	e.life.Lock()
	defer e.life.Unlock()
	if e.run == nil {
		return
	}
	e.run.cancel()
	<-e.run.done
	e.run = nil
}

// dispatch claims due calls as workers become free and hands them over.
func (e *Engine) dispatch(ctx context.Context, work chan<- *Call) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		// Claim only what idle workers start at once, so a claimed call
		// never waits for a worker while its lease runs; but wait until a
		// quarter of them (or a batch) are idle, because one claim is
		// costly (it ranks every due call) and is better amortised.
		limit := 0
		if idle := int(e.idle.Load()); idle*4 >= e.cfg.Workers || idle >= e.cfg.Batch {
			limit = min(idle, e.cfg.Batch)
		}
		// The claim runs to its end even if Stop comes meanwhile: a
		// claim cancelled halfway might commit without our knowing, and
		// its calls would wait for their lease to run out.
		calls, err := e.claim(context.WithoutCancel(ctx), limit)
		if err != nil {
			e.log.Error("claim delivery calls", "err", err)
		}
		if ctx.Err() != nil {
			e.release(calls)
			return
		}
		for i, c := range calls {
			select {
			case work <- c:
				e.idle.Add(-1)
			case <-ctx.Done():
				e.release(calls[i:])
				return
			}
		}
		if len(calls) == e.cfg.Batch {
			continue // more may be due right away
		}
		timer.Reset(e.cfg.Poll)
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-timer.C:
		}
	}
}

// sendCalls is one worker: it sends each call it is handed and passes the
// outcome to the writer.
func (e *Engine) sendCalls(work <-chan *Call, results chan<- result) {
	for c := range work {
		// Calls in flight finish even during shutdown: their outcome is
		// worth recording, and each is bounded by its timeout.
		results <- e.send(context.Background(), c)
		e.idle.Add(1)
	}
}

// RunDue makes one attempt of every call due now, concurrently up to
// Workers, writes the outcomes and returns how many it attempted. It is the
// engine's step without its loop: tests drive a policy's whole schedule
// with it on a fake clock, and tools can deliver what is due and exit. Do
// not mix it with Start on the same Engine.
func (e *Engine) RunDue(ctx context.Context) (int, error) {
	total := 0
	for {
		calls, err := e.claim(ctx, e.cfg.Workers)
		if err != nil || len(calls) == 0 {
			return total, err
		}
		out := make([]result, len(calls))
		var wg sync.WaitGroup
		for i, c := range calls {
			wg.Add(1)
			go func() { defer wg.Done(); out[i] = e.send(ctx, c) }()
		}
		wg.Wait()
		for i := 0; i < len(out); i += e.cfg.Batch {
			e.flush(out[i:min(i+e.cfg.Batch, len(out))])
		}
		total += len(calls)
	}
}

// NextDue returns when the earliest waiting call can be sent, and false
// if no call waits: a call queued behind an unfinished older call of its
// key waits for that one, not for its own time. (For tests and tools that
// step a fake clock from one due call to the next.)
func (e *Engine) NextDue(ctx context.Context) (time.Time, bool, error) {
	var at sql.NullInt64
	err := e.db.SQL().QueryRowContext(ctx, `SELECT min(c.next_at) FROM delivery_calls c
		WHERE c.state IN ('pending', 'retrying') AND NOT EXISTS (
			SELECT 1 FROM delivery_calls p WHERE p.order_key = c.order_key AND p.id < c.id
			  AND p.state IN ('pending', 'retrying', 'in_flight'))`).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, false, err
	}
	return store.FromMillis(at.Int64), true, nil
}

// send makes one attempt of c.
func (e *Engine) send(ctx context.Context, c *Call) result {
	started := e.db.Clock().Now()
	t, err := e.targets.Target(ctx, c.SellerID, c.ProductID)
	if err != nil {
		return result{call: c, started: started, outcome: &protocol.Outcome{
			Activity: c.Activity, RequestBody: c.Body, Kind: protocol.OutcomeBadRequest,
			Err: fmt.Errorf("no target for product %s: %w", c.ProductID, err)}}
	}
	if c.PollID != "" {
		return result{call: c, started: started, outcome: e.client.Send(ctx, t, &protocol.QueryInstanceRequest{InstanceID: c.PollID})}
	}
	return result{call: c, started: started, outcome: e.client.SendBody(ctx, t, c.Activity, e.attemptBody(c))}
}

// attemptBody is the body one attempt sends: the call's own, except that a
// newInstance carries a businessId that is new on every call (§3) — the
// seller tells attempts apart by it, and recognises the purchase by
// orderId+orderLineId, which never change.
func (e *Engine) attemptBody(c *Call) []byte {
	if c.Activity != protocol.NewInstance {
		return c.Body
	}
	var req protocol.NewInstanceRequest
	if err := json.Unmarshal(c.Body, &req); err != nil {
		return c.Body
	}
	req.BusinessID = e.client.Profile.NewNonce()
	if b, err := protocol.Encode(&req); err == nil {
		return b
	}
	return c.Body
}
