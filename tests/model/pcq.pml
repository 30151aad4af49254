/*
 * pcq.pml — a Spin model of pcq's wait/signal protocol.
 *
 * This model mirrors src/pcq.c at 47c4ffc
 * (`git log -1 --format=%h -- src/pcq.c`). When xfer_one(), xfer_many(),
 * transfer(), move_now(), after_move(), wake_one(), back_from_wait(),
 * wait_cancelled(), sleep_once(), spin() or pcq_close() change, change the
 * model with them and update the hash; `make model` says when src/pcq.c
 * differs from it. Run with `make model`
 * (tests/model/model.sh); not part of the library.
 *
 * What it checks, for NP producers x NC consumers x capacity CAP (default
 * 2 x 2 x 2), each producer pushing NV values with pcq_push or
 * pcq_push_many (batch of 2), each consumer calling pcq_pop or
 * pcq_pop_many (up to 2) until it gets EPIPE (or its QUOTA is met), and
 * one closer:
 *  - no deadlock: every process reaches its end (pan's invalid end states;
 *    init waits for all others, then checks the totals);
 *  - no duplicated element: an element leaves the ring at most once;
 *  - per-producer FIFO: producer p's elements leave the ring in the order
 *    p pushed them, with no gap;
 *  - no lost element: at the end, every value whose push returned 0 (or
 *    that a push_many counted in *pushed, or that a cancelled push_many
 *    had put in the ring) was popped exactly once, and no other value was;
 *    so elements drained == elements accepted;
 *  - return codes: a push returns 0 with all n moved or EPIPE; a pop
 *    returns 0 with 1..n moved or EPIPE with none;
 *  - ring_valid() (the ring, and pending <= 1 on each side) at every
 *    release of the mutex, and the mutex held by whoever releases it;
 *  - a model-only invariant, stronger than pending <= 1, at the same
 *    places: pending <= waiters (a wake-up said to be on its way has a
 *    thread to arrive, whose back_from_wait() will clear it).
 *
 * The protocol (src/pcq.c's design block): each side (PUSH: producers
 * waiting for room; POP: consumers waiting for elements) has a condition
 * variable, a count of `waiters` and a flag `pending` (a wake-up is on
 * its way). wake_one() signals only when no wake-up of that side is in
 * flight; any thread back from a wait clears the flag; the woken thread,
 * once its call is complete, passes the baton to the next of its side if
 * that side can still proceed (after_move). Before its first sleep in a
 * call a thread spins (lets go of the lock, then takes it again and
 * re-checks the ring). Close sets `pending = 1` and broadcasts. What the model does not check: how soon a sleeper
 * wakes (only that none sleeps for good).
 *
 * Configurations (spin -D...):
 *  default      the closer joins the producers, then closes (the usual
 *               shutdown). A lost wake-up leaves a thread asleep for good:
 *               an invalid end state.
 *  CLOSE_RACE   the closer runs pcq_close at any moment, racing the
 *               producers: pushes may fail with EPIPE, and what was
 *               accepted must still be drained exactly.
 *  CANCEL       up to CANCELS (1) threads are cancelled inside their
 *               condition wait, asleep or already woken (then the wake-up
 *               meant for them is consumed: the worst case POSIX allows);
 *               wait_cancelled() runs and the thread ends. The others
 *               must still finish and drain everything accepted.
 *  QUOTA        each consumer pops exactly NP * NV / NC elements (pcq_pop
 *               or pcq_pop_many of at most what it still needs) and ends;
 *               the closer joins everyone, then closes. A caller that
 *               shares out a known amount of work so, rather than
 *               draining until EPIPE, relies on every wake-up reaching a
 *               thread that still pops. (Not with CANCEL: a cancelled
 *               consumer leaves its share behind, a hang of the caller's
 *               making.)
 *  NP NC CAP NV SPURIOUS BATCH CANCELS  sizes (see the defaults below).
 *  NO_VALID_PENDING  leave the model-only pending <= waiters out of
 *               valid() (ring_valid's pending <= 1 stays), so that a
 *               broken variant shows the hang it causes rather than the
 *               invariant it breaks first.
 *
 * Broken variants, each expected to fail (make model checks they do):
 *  CLOSE_SIGNAL  pcq_close signals each condition variable once instead of
 *                broadcasting: a second sleeping consumer never wakes.
 *  IF_WAIT       after one sleep the thread does not re-test the ring: it
 *                moves as if what it waited for had come (a wait under
 *                `if` instead of `while`): pops from an empty ring.
 *  ONE_CV        the two sides share one condition variable (each keeps
 *                its own counts): a pop's wake-up meant for a sleeping
 *                producer wakes a sleeping consumer instead, which finds
 *                the ring empty and sleeps again, while the producers'
 *                `pending` says a wake-up is on its way to them, so no
 *                later pop signals them: producer and consumers all sleep.
 *  NO_PENDING_RESET  back_from_wait() does not clear `pending`: after
 *                the first wake-up of a side, wake_one() believes one is
 *                always in flight and never signals that side again.
 *                ring_valid's pending <= 1 still holds; the model's
 *                pending <= waiters fails at once; with NO_VALID_PENDING
 *                the hang itself is found.
 *  NO_CANCEL_BATON  (with CANCEL) wait_cancelled() does not pass a
 *                wake-up on: a consumer that a push_many signalled is
 *                cancelled before it is back; the other consumer sleeps
 *                beside the two elements, a producer finds the ring full
 *                and sleeps, and the closer waits for it for good. It needs the worst case
 *                the model allows: cancelled after the signal unblocked it
 *                (POSIX forbids consuming a signal only to a thread that
 *                the cancellation itself unblocked).
 *
 *  NO_BATON      (with QUOTA) the woken thread does not pass the baton:
 *                a push_many of 2 signals one of two sleeping consumers,
 *                which pops one element, meets its quota and ends; the
 *                other sleeps beside the second element for good. With
 *                consumers that pop until EPIPE (the other configurations)
 *                Spin finds no error: a wake-up not passed on is only
 *                late there. A woken consumer pops again until the ring is
 *                empty, close wakes every sleeper, and a woken producer
 *                moves an element once back (pending is 0 again by then)
 *                whose pop signals the next sleeping producer. Timed
 *                calls are the same: a timed-out thread re-checks the
 *                ring, and moves if its side can go.
 *
 * How the Promela maps to the C
 * -----------------------------
 *  q->mu                 `mtx`: 0 free, else owner's thread index + 1.
 *                        lock() blocks until free; unlock() asserts that
 *                        the caller owns it. pthread_mutex_trylock that
 *                        finds the lock free is a lock(); one that finds
 *                        it taken changes nothing.
 *  q->cv[d]              `cvset[CV(d)]`: the set of threads blocked in the
 *                        condition variable, one bit per thread
 *                        (producers 0..NP-1, consumers NP..).
 *  q->waiters[d],        `waiters[d]`, `pending[d]`; d is PUSH (0) or POP
 *  q->pending[d]         (1), as enum pcq_dir.
 *  pthread_cond_wait     in sleep_once(): in ONE atomic step the thread
 *                        joins the set and releases the mutex; it then
 *                        blocks until its bit is cleared: by a signal, a
 *                        broadcast, spuriously (process spurious_wakeups:
 *                        at most SPURIOUS in a run, any waiter, any
 *                        moment) or by a cancellation; then it re-acquires
 *                        the mutex, competing like any other locker.
 *  pthread_cond_signal   cv_signal(): if the set is non-empty, clear one
 *                        member's bit, chosen nondeterministically (every
 *                        choice is explored); else nothing.
 *  pthread_cond_broadcast  clear the whole set.
 *  head, tail, count,    the same names, same arithmetic (compare-and-
 *  slots                 subtract wrap); `ring[]` holds value ids, 0 =
 *                        empty slot (a pop asserts it never reads one).
 *  closed                the same name.
 *  can_go()              CAN_GO(d).
 *  wake_one()            wake_one(d): if pending == 0 && waiters > 0:
 *                        pending = 1 and signal.
 *  back_from_wait()      back_from_wait(d): waiters--; pending = 0.
 *  after_move()          after_move(d, complete): wake_one(other side);
 *                        if complete && CAN_GO(d): wake_one(d).
 *  sleep_once()          sleep_once(): waiters++, the wait above,
 *                        back_from_wait; with CANCEL, a cancelled thread
 *                        runs wait_cancelled() instead of returning.
 *  wait_cancelled()      back_from_wait, then wake_one if CAN_GO, unlock;
 *                        the thread ends (its xfer returns ECANCELED in
 *                        the model so the process can record what a
 *                        cancelled push_many had put in).
 *  spin()                unlock; lock: between the two, every other
 *                        thread may run. spin() in C may take the lock
 *                        with trylock and let it go again any number of
 *                        times while it only reads: the same states as
 *                        one release and one acquisition. The spin budget
 *                        only bounds how often: not modelled.
 *  xfer_one(),           xfer(): lock, then transfer()'s loop with the
 *  xfer_many(), transfer() same order of tests (closed push -> EPIPE;
 *                        room/elements -> move min(avail, n - done),
 *                        after_move(complete = pop, or push with all n
 *                        in), 0 if complete; closed and empty pop ->
 *                        EPIPE; first time: spin and re-check; else
 *                        sleep_once and loop). xfer_one()'s fast path (a single
 *                        element, room or an element at once, not closed
 *                        for a push) does exactly what the loop's first
 *                        pass does then: the model has the loop only.
 *                        Only the blocking mode
 *                        (pcq_push, pcq_pop, pcq_push_many, pcq_pop_many)
 *                        is modelled: try and timed calls leave the loop
 *                        earlier but wait and wake the same way (a timeout
 *                        is a spurious return, then the same re-check
 *                        before ETIMEDOUT).
 *  pcq_close()           closer: flag under the lock; for each side with
 *                        waiters: pending = 1 and broadcast; unlock.
 *  ring_valid()          valid(): the ring and pending <= 1 (and the
 *                        model's pending <= waiters), checked at every
 *                        release of the mutex. `moved` and the other
 *                        statistics are not modelled (no effect on the
 *                        protocol; moved[PUSH] - moved[POP] == count holds
 *                        by construction of ring_put/ring_get).
 *  PCQ_INJECT_SPURIOUS   not modelled: the test build's early return
 *                        (unlock; lock) is the spin step again.
 *
 * Why spurious wake-ups are bounded: with an unbounded supply, a thread
 * that missed its wake-up could always wake spuriously, so a lost wake-up
 * would be a livelock, not a deadlock, and a safety run (-DSAFETY) would
 * not see it. With a budget, every run that uses up the budget (or never
 * touches it) must still end; runs with 0..SPURIOUS spurious wake-ups at
 * any points are all explored.
 *
 * Why ghosts sit in ring_get(): the pop order is the order elements leave
 * the ring under the lock, so duplication and FIFO are checked there, at
 * one instant, not later in the consumer where pops could be reordered.
 */

#ifndef NP
#define NP 2 /* producers */
#endif
#ifndef NC
#define NC 2 /* consumers */
#endif
#ifndef CAP
#define CAP 2 /* capacity */
#endif
#ifndef NV
#define NV 2 /* values each producer pushes */
#endif
#ifndef SPURIOUS
#define SPURIOUS 2 /* spurious wake-ups allowed in one run */
#endif
#ifndef BATCH
#define BATCH 2 /* largest batch for push_many / pop_many; 1: no batches */
#endif
#ifndef CANCELS
#define CANCELS 1 /* with CANCEL: cancellations allowed in one run */
#endif

#define PUSH 0 /* enum pcq_dir */
#define POP 1
#define EPIPE 32
#define ECANCELED 125  /* model only: the thread ended in wait_cancelled() */
#define SPINNING 255   /* model only: xfer let go of the lock to spin */

#ifdef ONE_CV
#define CV(d) 0 /* broken: one condition variable for both sides */
#else
#define CV(d) (d)
#endif
#define BIT(t) (1 << (t))
#define CLOSER (NP + NC) /* the closer's thread index */
#define NVAL (NP * NV)

/* can_go(): a thread of side d can proceed now (or must fail: closed). */
#define CAN_GO(d) (closed || ((d) == PUSH -> count < CAP : count > 0))

#if NP + NC > 8
#error "waiter sets are one byte: at most 8 producers + consumers"
#endif

/*
 * A critical section (lock .. unlock, or lock .. the release inside a
 * wait) runs as one atomic step unless FINE_GRAIN is defined. Sound:
 * everything it touches is guarded by mtx except the waiter sets, and the
 * only unlocked changes to those (a spurious leave, a cancellation)
 * commute with it; an atomic sequence loses atomicity where it blocks,
 * i.e. exactly inside the condition wait and on a taken lock. FINE_GRAIN
 * interleaves every statement (much bigger; for cross-checking at small
 * sizes).
 */
#ifdef FINE_GRAIN
#define CS_BEGIN if :: true ->
#define CS_END fi
#else
#define CS_BEGIN atomic {
#define CS_END }
#endif

/* ---- the queue: every field guarded by mtx, as in struct pcq ---- */
byte mtx;
byte cvset[2];
byte ring[CAP];
byte head, tail, count;
byte waiters[2], pending[2];
bool closed;

/* ---- the world around it ---- */
byte spurious = SPURIOUS; /* spurious wake-ups left */
byte prod_done;           /* producers that returned (or were cancelled) */
byte finished;            /* producers, consumers and closer that ended */
#ifdef CANCEL
byte cancels = CANCELS;   /* cancellations left */
byte inwait;              /* threads inside pthread_cond_wait */
byte cancelled;           /* threads cancelled there */
#endif

/* ---- ghosts for the checks ---- */
bit ok[NVAL];       /* value v was accepted (push returned it as moved) */
bit got[NVAL];      /* value v was popped */
byte next_out[NP];  /* next sequence number expected from producer p */

inline lock(me)
{
    atomic { mtx == 0 -> mtx = me + 1 }
}

/* ring_valid() (and the model's own pending check), wherever the mutex
 * is let go. */
inline valid()
{
    assert(count <= CAP && head < CAP && tail < CAP && (head + count) % CAP == tail);
    assert(pending[PUSH] <= 1 && pending[POP] <= 1);
#ifndef NO_VALID_PENDING
    assert(pending[PUSH] <= waiters[PUSH] && pending[POP] <= waiters[POP])
#endif
}

inline unlock(me)
{
    valid();
    assert(mtx == me + 1);
    mtx = 0
}

/* pthread_cond_signal: wake one member of the set, any one, if any. */
inline cv_signal(cv)
{
    atomic {
        if
        :: cvset[cv] == 0 -> skip
        :: else ->
            w = 0;
            do
            :: (cvset[cv] & BIT(w)) != 0 -> cvset[cv] = cvset[cv] ^ BIT(w); break
            :: (cvset[cv] >> (w + 1)) != 0 -> w++ /* a member lies further on */
            od;
            w = 0
        fi
    }
}

/* pthread_cond_broadcast: wake every member. */
inline cv_broadcast(cv)
{
    cvset[cv] = 0
}

/* wake_one(): one sleeper of side d, unless a wake-up is on its way. */
inline wake_one(d)
{
    if
    :: pending[d] == 0 && waiters[d] > 0 -> pending[d] = 1; cv_signal(CV(d))
    :: else -> skip
    fi
}

/* back_from_wait(): woken, spurious, timed out or cancelled; any return
 * counts as the one a pending wake-up was meant for. */
inline back_from_wait(d)
{
    waiters[d]--;
#ifndef NO_PENDING_RESET
    pending[d] = 0
#endif
}

/* after_move(): the other side may proceed now; a complete call passes
 * the baton to its own side if that side can still go. */
inline after_move(d, complete)
{
    wake_one(1 - d);
#ifndef NO_BATON
    if
    :: (complete) && CAN_GO(d) -> wake_one(d)
    :: else -> skip
    fi
#endif
}

/*
 * sleep_once(): count in, wait (release + join atomically), leave the set
 * by a wake-up, spuriously or cancelled, re-acquire the mutex,
 * back_from_wait. A cancelled thread runs wait_cancelled() and leaves
 * xfer's loop with rc = ECANCELED (the caller ends the process).
 */
inline sleep_once(me, dir)
{
    waiters[dir]++;
    atomic {
        valid();
        assert(mtx == me + 1);
        cvset[CV(dir)] = cvset[CV(dir)] | BIT(me);
#ifdef CANCEL
        inwait = inwait | BIT(me);
#endif
        mtx = 0
    };
    /* Blocks (so the critical section's atomicity ends here) until out
     * of the set: signalled, broadcast, spuriously or cancelled. */
    (cvset[CV(dir)] & BIT(me)) == 0; /* asleep in pthread_cond_wait */
    atomic {
        mtx == 0 -> mtx = me + 1;
#ifdef CANCEL
        inwait = inwait & ~BIT(me)
#endif
    };
    back_from_wait(dir);
#ifdef CANCEL
    if
    :: (cancelled & BIT(me)) != 0 ->
        /* wait_cancelled(): pass on a wake-up this thread may have eaten */
#ifndef NO_CANCEL_BATON
        if
        :: CAN_GO(dir) -> wake_one(dir)
        :: else -> skip
        fi;
#endif
        rc = ECANCELED;
        break
    :: else -> skip
    fi
#endif
}

/* ring_put(): k values base+done .. into the ring at tail. */
inline ring_put(k)
{
    assert(count + k <= CAP); /* ring_valid: count <= cap */
    i = 0;
    do
    :: i < k ->
        slot = tail + i;
        if
        :: slot >= CAP -> slot = slot - CAP
        :: else -> skip
        fi;
        ring[slot] = base + done + i;
        i++
    :: else -> break
    od;
    tail = tail + k;
    if
    :: tail >= CAP -> tail = tail - CAP
    :: else -> skip
    fi;
    count = count + k;
    i = 0;
    slot = 0
}

/* ring_get(): k values from the ring at head; checks them (ghosts). */
inline ring_get(k)
{
    assert(count >= k); /* ring_valid: never pop more than is there */
    i = 0;
    do
    :: i < k ->
        slot = head + i;
        if
        :: slot >= CAP -> slot = slot - CAP
        :: else -> skip
        fi;
        v = ring[slot];
        assert(v != 0);                          /* never an empty slot */
        assert(got[v - 1] == 0);                 /* no duplicate */
        got[v - 1] = 1;
        assert((v - 1) % NV == next_out[(v - 1) / NV]); /* per-producer FIFO */
        next_out[(v - 1) / NV]++;
        ring[slot] = 0;
        i++
    :: else -> break
    od;
    head = head + k;
    if
    :: head >= CAP -> head = head - CAP
    :: else -> skip
    fi;
    count = count - k;
    i = 0;
    slot = 0;
    v = 0
}

/*
 * xfer(): xfer_one() or xfer_many(), blocking: lock, then transfer(). Moves up
 * to n elements in direction dir (a constant: PUSH or POP); leaves the
 * count moved in `done` and the status in `rc`.
 * The outer loop runs once more after spin(): the inner loop leaves the
 * critical section with rc = SPINNING and the lock released, so that
 * other threads run before this one locks again and re-checks the ring.
 */
inline xfer(me, dir, n)
{
    /* done == 0 and spun == false here: the callers reset them */
    do
    :: CS_BEGIN
        lock(me);
        rc = 0;
        do
        :: true ->
            /* Precedence: a push on a closed queue fails even with room. */
            if
            :: dir == PUSH && closed -> rc = EPIPE; break
            :: else -> skip
            fi;
            avail = (dir == PUSH -> CAP - count : count);
#ifdef IF_WAIT
            /* broken: after a sleep, trust that the wait's condition holds */
            if
            :: trust && avail == 0 -> avail = 1
            :: else -> skip
            fi;
            trust = false;
#endif
            if
            :: avail > 0 ->
                k = (avail < n - done -> avail : n - done);
                if
                :: dir == PUSH -> ring_put(k)
                :: else -> ring_get(k)
                fi;
                done = done + k;
                k = 0;
                avail = 0;
                after_move(dir, dir == POP || done == n);
                if
                :: dir == POP || done == n -> break /* complete: rc 0 */
                :: else -> skip /* a push batch with more to go: ring now full */
                fi
            :: else ->
                if
                :: dir == POP && closed -> rc = EPIPE; break /* closed and drained */
                :: else -> skip
                fi;
                if
                :: !spun -> spun = true; rc = SPINNING; break /* spin() */
                :: else -> skip
                fi;
                sleep_once(me, dir);
#ifdef IF_WAIT
                trust = true
#endif
            fi
        od;
        avail = 0;
        unlock(me); /* also wait_cancelled()'s unlock, after ECANCELED */
        if
        :: rc == SPINNING -> rc = 0 /* spin(): others run; lock, re-check */
        :: else -> break
        fi
      CS_END
    od
}

proctype producer(byte me)
{
    byte seq, n, done, k, avail, rc, base, i, w, slot, v;
    bool spun, trust;

    do
    :: atomic {
        seq < NV ->
        n = 1;
#if BATCH > 1
        if
        :: seq + 2 <= NV -> n = 2 /* pcq_push_many of 2 */
        :: true -> skip           /* pcq_push */
        fi;
#endif
        base = me * NV + seq + 1
       };
        xfer(me, PUSH, n);
        /* the caller's view: the first `done` values are accepted (a
         * cancelled push_many accepted them too: they are in the ring) */
        atomic {
            i = 0;
            do
            :: i < done -> ok[base - 1 + i] = 1; i++
            :: else -> break
            od;
            i = 0;
            seq = seq + done;
            assert(rc == EPIPE || rc == ECANCELED || (rc == 0 && done == n));
            n = 0;
            done = 0;
            base = 0;
            spun = false;
            if
            :: rc == EPIPE || rc == ECANCELED -> break
            :: else -> skip
            fi
        }
    :: else -> break
    od;
    atomic { prod_done++; finished++ }
}

proctype consumer(byte me)
{
    byte n, done, k, avail, rc, i, w, slot, v;
    bool spun, trust;
    byte base; /* unused by pops; ring_put's name */
#ifdef QUOTA
    byte left = NVAL / NC; /* elements this consumer still has to pop */
#endif

    do
    :: atomic {
#ifdef QUOTA
        left > 0 ->
#endif
        n = 1;
#if BATCH > 1
        if
        :: n = 2 /* pcq_pop_many, max 2 */
        :: true  /* pcq_pop */
        fi;
#endif
#ifdef QUOTA
        n = (n < left -> n : left)
#else
        skip
#endif
       };
        xfer(me, POP, n);
        atomic {
            if
            :: rc == EPIPE || rc == ECANCELED -> assert(done == 0); break
            :: else -> assert(rc == 0 && done >= 1 && done <= n)
            fi;
#ifdef QUOTA
            left = left - done;
#endif
            n = 0;
            done = 0;
            spun = false
        }
#ifdef QUOTA
    :: else -> break
#endif
    od;
    finished++
}

/*
 * Spurious wake-ups: at any moment, while the budget lasts, any thread in
 * either set may leave it with no signal. A process of its own, so that a
 * waiter always blocks in its wait (the waiter's atomic critical section
 * ends there) and every later point of every run may see one. Never ends:
 * its loop is a valid end state.
 */
proctype spurious_wakeups()
{
    byte w;

end:
    do
    :: atomic { spurious > 0 && cvset[0] != 0 -> cv_signal(0); spurious-- }
    :: atomic { spurious > 0 && cvset[1] != 0 -> cv_signal(1); spurious-- }
    od
}

#ifdef CANCEL
/*
 * pthread_cancel of a thread inside its condition wait, asleep or woken
 * and not yet back (the worst case: it consumed the wake-up). It leaves
 * its set; sleep_once sees the flag once it holds the mutex again.
 */
proctype canceller()
{
    byte t;

end:
    do
    :: atomic {
        cancels > 0 && (inwait & ~cancelled) != 0 ->
        t = 0;
        do
        :: (inwait & ~cancelled & BIT(t)) != 0 -> break
        :: ((inwait & ~cancelled) >> (t + 1)) != 0 -> t++
        od;
        cancelled = cancelled | BIT(t);
        cvset[0] = cvset[0] & ~BIT(t);
        cvset[1] = cvset[1] & ~BIT(t);
        cancels--;
        t = 0
       }
    od
}
#endif

/* One side in pcq_close(): wake every waiter; a wake-up is on its way. */
inline close_side(d)
{
    if
    :: waiters[d] > 0 ->
        pending[d] = 1;
#ifdef CLOSE_SIGNAL
        cv_signal(CV(d)) /* broken: one wake-up per side */
#else
        cv_broadcast(CV(d))
#endif
    :: else -> skip
    fi
}

/* pcq_close(), called by the owner once the producers are joined (or at
 * any time with CLOSE_RACE). */
proctype closer()
{
    byte w;

#if defined(QUOTA)
    finished == NP + NC; /* joining the producers and the consumers */
#elif !defined(CLOSE_RACE)
    prod_done == NP; /* joining the producers */
#endif
    CS_BEGIN
    lock(CLOSER);
    closed = true;
    /* Every waiter must see the close: broadcast, never signal. */
    close_side(PUSH);
    close_side(POP);
    unlock(CLOSER);
    finished++ /* after the unlock: init then finds the mutex free */
    CS_END
}

init
{
    byte t, accepted, drained;

    atomic {
        t = 0;
        do
        :: t < NP -> run producer(t); t++
        :: else -> break
        od;
        t = 0;
        do
        :: t < NC -> run consumer(NP + t); t++
        :: else -> break
        od;
        run closer();
        run spurious_wakeups();
#ifdef CANCEL
        run canceller();
#endif
        t = 0
    };
    finished == NP + NC + 1; /* all ended: none is stuck */

    /* No lost, no extra element: popped exactly the accepted values. */
    assert(count == 0 && mtx == 0);
    assert(waiters[PUSH] == 0 && waiters[POP] == 0);
#ifndef NO_VALID_PENDING
    assert(pending[PUSH] == 0 && pending[POP] == 0); /* <= waiters == 0 */
#endif
    do
    :: t < NVAL ->
        assert(got[t] == ok[t]);
        accepted = accepted + ok[t];
        drained = drained + got[t];
        t++
    :: else -> break
    od;
    assert(drained == accepted);
#if !defined(CLOSE_RACE) && !defined(CANCEL)
    assert(accepted == NVAL); /* closed after the producers: all went in */
#endif
}
