/*
 * pcq.pml — a Spin model of pcq's wait/signal protocol.
 *
 * This model mirrors src/pcq.c at 0e3cb45
 * (`git log -1 --format=%h -- src/pcq.c`). When xfer(), wake(),
 * sleep_once() or pcq_close() change, change the model with them and
 * update the hash; `make model` says when src/pcq.c differs from it.
 * Run with `make model` (tests/model.sh); not part of the library.
 *
 * What it checks, for NP producers x NC consumers x capacity CAP (default
 * 2 x 2 x 2), each producer pushing NV values with pcq_push or
 * pcq_push_many (batch of 2), each consumer calling pcq_pop or
 * pcq_pop_many (up to 2) until it gets EPIPE, and one closer:
 *  - no deadlock: every process reaches its end (pan's invalid end states;
 *    init waits for all others, then checks the totals);
 *  - no duplicated element: an element leaves the ring at most once;
 *  - per-producer FIFO: producer p's elements leave the ring in the order
 *    p pushed them, with no gap;
 *  - no lost element: at the end, every value whose push returned 0 (or
 *    that a push_many counted in *pushed) was popped exactly once, and no
 *    other value was; so elements drained == successful pushes;
 *  - return codes: a push returns 0 with all n moved or EPIPE; a pop
 *    returns 0 with 1..n moved or EPIPE with none;
 *  - the ring invariant pcq__valid() before every unlock, and the mutex
 *    held by whoever unlocks it or waits with it.
 *
 * What it does not check: how soon a sleeper wakes. A wake() that sends
 * one signal where it should broadcast passes every configuration of
 * `make model`: each later change to the ring signals the other side
 * again and close broadcasts, so the extra sleeper sleeps longer but not
 * for good. How many threads wake() wakes is a latency matter here; a
 * wake-up that no later event replaces is a deadlock, and that the model
 * finds.
 *
 * Configurations (spin -D...):
 *  default      the closer joins the producers, then closes (the usual
 *               shutdown). A lost wake-up leaves a thread asleep for good:
 *               an invalid end state.
 *  CLOSE_RACE   the closer runs pcq_close at any moment, racing the
 *               producers: pushes may fail with EPIPE, and what was
 *               accepted must still be drained exactly.
 *  NP NC CAP NV SPURIOUS BATCH  sizes (see the defaults below).
 *
 * Broken variants, each expected to fail (make model checks they do):
 *  CLOSE_SIGNAL  pcq_close signals each condition variable once instead of
 *                broadcasting: a second sleeping consumer never wakes.
 *  IF_WAIT       after one sleep the thread does not re-test the ring: it
 *                moves as if what it waited for had come (a wait under
 *                `if` instead of `while`): pops from an empty ring.
 *  ONE_CV        not_full and not_empty are one condition variable: a
 *                consumer's signal meant for a sleeping producer wakes the
 *                other consumer instead, which finds the ring empty and
 *                sleeps again; all four threads end asleep. Needs a ring
 *                that one element takes from empty to full (make model
 *                uses capacity 1 at 2 x 2) or 3 x 3 at capacity 2: at
 *                2 x 2 x 2 the waiter counts (which include threads woken
 *                but not yet running) make every pop or push signal again
 *                and the shared condvar happens to survive.
 *
 * How the Promela maps to the C
 * -----------------------------
 *  q->mu                 `mtx`: 0 free, else owner's thread index + 1.
 *                        lock() blocks until free; unlock() asserts that
 *                        the caller owns it.
 *  q->not_full,          `cvset[NF]`, `cvset[NE]`: each condition variable
 *  q->not_empty          is the set of threads blocked in it, one bit per
 *                        thread (producers 0..NP-1, consumers NP..).
 *  pthread_cond_wait     sleep_once(): in ONE atomic step the thread joins
 *                        the set and releases the mutex; it then blocks
 *                        until its bit is cleared: by a signal, a
 *                        broadcast, or spuriously (process
 *                        spurious_wakeups: at most SPURIOUS in a run, any
 *                        waiter, any moment); then it re-acquires the
 *                        mutex, competing like any other locker, before
 *                        returning.
 *  pthread_cond_signal   cv_signal(): if the set is non-empty, clear one
 *                        member's bit, chosen nondeterministically (every
 *                        choice is explored); else nothing.
 *  pthread_cond_broadcast  clear the whole set.
 *  head, tail, count,    the same names, same arithmetic (compare-and-
 *  slots                 subtract wrap); `ring[]` holds value ids, 0 =
 *                        empty slot (a pop asserts it never reads one).
 *  push_waiters,         the same names: incremented under the lock before
 *  pop_waiters           the wait, decremented after re-acquiring it.
 *  closed                the same name.
 *  wake()                wake(): nothing if no waiter or k == 0; a
 *                        broadcast if k >= waiters; else k signals.
 *  xfer()                xfer(): the same loop and the same order of tests
 *                        (closed push -> EPIPE; room/elements -> move
 *                        min(avail, n - done) and wake the other side;
 *                        pop done or push batch complete -> 0; closed and
 *                        empty pop -> EPIPE; else sleep_once and loop).
 *                        Only the blocking mode (pcq_push, pcq_pop,
 *                        pcq_push_many, pcq_pop_many) is modelled: try
 *                        and timed calls leave the loop earlier but wait
 *                        and wake the same way.
 *  pcq_close()           closer: flag under the lock, broadcast each side
 *                        that has waiters, unlock.
 *  pcq__valid()          valid(), asserted before each unlock.
 *  wait_cancelled()      not modelled (cancellation is not in the model).
 *  statistics            not modelled (no effect on the protocol).
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

#define PUSH 0
#define POP 1
#define EPIPE 32

#define NF 0 /* q->not_full */
#ifdef ONE_CV
#define NE 0 /* broken: one condition variable for both directions */
#else
#define NE 1 /* q->not_empty */
#endif
#define CV(d) ((d) == PUSH -> NF : NE)
#define BIT(t) (1 << (t))
#define CLOSER (NP + NC) /* the closer's thread index */
#define NVAL (NP * NV)

#if NP + NC > 8
#error "waiter sets are one byte: at most 8 producers + consumers"
#endif

/*
 * A critical section (lock .. unlock, or lock .. the release inside a
 * wait) runs as one atomic step unless FINE_GRAIN is defined. Sound:
 * everything it touches is guarded by mtx except the waiter sets, and the
 * only unlocked change to those (a spurious leave) commutes with it; an
 * atomic sequence loses atomicity where it blocks, i.e. exactly inside
 * the condition wait. FINE_GRAIN interleaves every statement (much
 * bigger; for cross-checking at small sizes).
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
byte push_waiters, pop_waiters;
bool closed;

/* ---- the world around it ---- */
byte spurious = SPURIOUS; /* spurious wake-ups left */
byte prod_done;           /* producers that returned */
byte finished;            /* producers and consumers that returned */

/* ---- ghosts for the checks ---- */
bit ok[NVAL];       /* value v's push was reported successful */
bit got[NVAL];      /* value v was popped */
byte next_out[NP];  /* next sequence number expected from producer p */

inline lock(me)
{
    atomic { mtx == 0 -> mtx = me + 1 }
}

inline unlock(me)
{
    assert(mtx == me + 1);
    mtx = 0
}

inline valid()
{
    assert(count <= CAP && head < CAP && tail < CAP && (head + count) % CAP == tail)
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

/* wake(): up to k waiters of one side; a broadcast when k covers them. */
inline wake(cv, waiters, k)
{
    if
    :: waiters == 0 || k == 0 -> skip
    :: else ->
        if
        :: k >= waiters -> cv_broadcast(cv)
        :: else ->
            j = k;
            do
            :: j > 0 -> cv_signal(cv); j--
            :: else -> break
            od
        fi
    fi
}

/*
 * sleep_once(): count in, wait (release + join atomically), leave the set
 * by a wake-up or spuriously, re-acquire the mutex, count out.
 */
inline sleep_once(me, dir)
{
    if
    :: dir == PUSH -> push_waiters++
    :: else -> pop_waiters++
    fi;
    atomic {
        assert(mtx == me + 1);
        cvset[CV(dir)] = cvset[CV(dir)] | BIT(me);
        mtx = 0
    };
    /* Blocks (so the critical section's atomicity ends here) until out
     * of the set: signalled, broadcast, or spuriously (spurious_wakeups). */
    (cvset[CV(dir)] & BIT(me)) == 0; /* asleep in pthread_cond_wait */
    lock(me);
    if
    :: dir == PUSH -> push_waiters--
    :: else -> pop_waiters--
    fi
}

/* ring_put(): k values base+done .. into the ring at tail. */
inline ring_put(k)
{
    assert(count + k <= CAP); /* pcq__valid: count <= cap */
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
    assert(count >= k); /* pcq__valid: never pop more than is there */
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
 * xfer(): move up to n elements in direction dir. Leaves the count moved
 * in `done` and the status in `rc`.
 */
inline xfer(me, dir, n)
{
    CS_BEGIN
    done = 0;
    rc = 0;
    lock(me);
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
            :: dir == PUSH -> ring_put(k); wake(NE, pop_waiters, k)
            :: else -> ring_get(k); wake(NF, push_waiters, k)
            fi;
            done = done + k;
            k = 0;
            avail = 0;
            if
            :: dir == POP || done == n -> rc = 0; break
            :: else -> skip /* a push batch with more to go: ring now full */
            fi
        :: else ->
            if
            :: dir == POP && closed -> rc = EPIPE; break /* closed and drained */
            :: else -> skip
            fi;
            sleep_once(me, dir);
#ifdef IF_WAIT
            trust = true
#endif
        fi
    od;
    avail = 0;
    valid();
    unlock(me)
    CS_END
}

proctype producer(byte me)
{
    byte seq, n, done, k, avail, rc, base, i, j, w, slot, v;
    bool trust;

    do
    :: seq < NV ->
        n = 1;
#if BATCH > 1
        if
        :: seq + 2 <= NV -> n = 2 /* pcq_push_many of 2 */
        :: true -> skip           /* pcq_push */
        fi;
#endif
        base = me * NV + seq + 1;
        xfer(me, PUSH, n);
        /* the caller's view: the first `done` values are accepted */
        d_step {
            i = 0;
            do
            :: i < done -> ok[base - 1 + i] = 1; i++
            :: else -> break
            od;
            i = 0;
            seq = seq + done;
            assert(rc == EPIPE || (rc == 0 && done == n));
            n = 0;
            done = 0;
            base = 0
        };
        if
        :: rc == EPIPE -> break
        :: else -> skip
        fi
    :: else -> break
    od;
    prod_done++;
    finished++
}

proctype consumer(byte me)
{
    byte n, done, k, avail, rc, i, j, w, slot, v;
    bool trust;
    byte base; /* unused by pops; ring_put's name */

    do
    :: n = 1;
#if BATCH > 1
        if
        :: n = 2 /* pcq_pop_many, max 2 */
        :: true  /* pcq_pop */
        fi;
#endif
        xfer(me, POP, n);
        if
        :: rc == EPIPE -> assert(done == 0); break
        :: else -> assert(rc == 0 && done >= 1 && done <= n)
        fi;
        n = 0;
        done = 0
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
    :: atomic { spurious > 0 && cvset[NF] != 0 -> cv_signal(NF); spurious-- }
    :: atomic { spurious > 0 && cvset[NE] != 0 -> cv_signal(NE); spurious-- }
    od
}

/* pcq_close(), called by the owner once the producers are joined (or at
 * any time with CLOSE_RACE). */
proctype closer()
{
    byte w;

#ifndef CLOSE_RACE
    prod_done == NP; /* joining the producers */
#endif
    CS_BEGIN
    lock(CLOSER);
    closed = true;
#ifdef CLOSE_SIGNAL
    /* broken: one wake-up per side */
    if
    :: push_waiters > 0 -> cv_signal(NF)
    :: else -> skip
    fi;
    if
    :: pop_waiters > 0 -> cv_signal(NE)
    :: else -> skip
    fi;
#else
    /* Every waiter must see the close: broadcast, never signal. */
    if
    :: push_waiters > 0 -> cv_broadcast(NF)
    :: else -> skip
    fi;
    if
    :: pop_waiters > 0 -> cv_broadcast(NE)
    :: else -> skip
    fi;
#endif
    valid();
    unlock(CLOSER)
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
        t = 0
    };
    finished == NP + NC && closed; /* all returned: none is stuck */

    /* No lost, no extra element: popped exactly the accepted values. */
    assert(count == 0 && push_waiters == 0 && pop_waiters == 0 && mtx == 0);
    do
    :: t < NVAL ->
        assert(got[t] == ok[t]);
        accepted = accepted + ok[t];
        drained = drained + got[t];
        t++
    :: else -> break
    od;
    assert(drained == accepted);
#ifndef CLOSE_RACE
    assert(accepted == NVAL); /* closed after the producers: all went in */
#endif
}
