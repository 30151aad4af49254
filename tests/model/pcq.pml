/*
 * pcq.pml — a Spin model of pcq's two-lock wait/signal protocol, with its
 * flow control: batch waiters with a minimum (and a deadline), abort, and
 * a live resize; and (SHARED) a queue shared between processes, any of
 * which may be killed.
 *
 * This model mirrors src/pcq.c at 91376a9
 * (`git log -1 --format=%h -- src/pcq.c`). When xfer_one() (its fast path
 * too), xfer_many(), transfer(), move_now(), move(), look(), available(),
 * can_go(), needs_wake(), wake_one(), wake_side(), back_from_wait(),
 * pass_baton(), wait_cancelled(), sleep_once(), spin(), batch_min(),
 * wake_batch_locked(), batch_wake_due(), wake_batch(), batch_sleep_once(),
 * batch_wait_cancelled(), after_move(), do_after(), shut_locked(),
 * pcq_close(), pcq_abort(), pcq_pop_batch(), pcq_set_capacity() or
 * regrow() change, or in shared mode lock(), lock_shared(),
 * repair_side(), wo_wait(), futex_nap(), wo_signal(), wo_broadcast(),
 * seq_wake() or wake_all_locked(), change the model with them and update
 * the hash;
 * `make model` says when src/pcq.c differs from it. Run with `make model`
 * (tests/model/model.sh); not part of the library.
 *
 * What it checks, for NP producers x NC consumers x capacity CAP (default
 * 2 x 2 x 2), each producer pushing NV values with pcq_push or
 * pcq_push_many (batch of 2), each consumer calling pcq_pop or
 * pcq_pop_many (up to 2) until it gets EPIPE (or its QUOTA is met), NB
 * batch waiters (0 by default) calling pcq_pop_batch(min, max) likewise,
 * one closer (pcq_close, or pcq_abort), and with RESIZE one resizer:
 *  - no deadlock: every process reaches its end (pan's invalid end states;
 *    init waits for all others, then checks the totals). A lost wake-up,
 *    a batch waiter whose count is there but never signalled, a producer
 *    that a grow left asleep: each leaves a thread asleep for good;
 *  - no duplicated element: an element leaves the ring at most once;
 *  - FIFO: elements leave the ring in the order they were pushed, all
 *    producers together (each value is stamped with its place in the push
 *    order), so a batch takes one piece of the queue; and per producer,
 *    with no gap;
 *  - no torn hand-off: a push writes only slots a pop has emptied, a pop
 *    reads only slots a push has filled (each side trusts the other's
 *    published counter, nothing else), across a regrow too;
 *  - no lost element: at the end, every value whose push returned 0 (or
 *    that a push_many counted in *pushed, or that a cancelled push_many
 *    had put in the ring) was popped exactly once, by a consumer or by the
 *    owner's final pcq_drain (init: what an abort, or no consumer, left),
 *    and no other value was; so elements drained == elements accepted, and
 *    pushed == popped;
 *  - return codes: a push returns 0 with all n moved, or EPIPE (or
 *    ECANCELED); a pop returns 0 with 1..n moved in one move, or EPIPE (or
 *    ECANCELED) with none; a batch waiter takes at least its count (its
 *    min, or the capacity when the min is above it) unless the queue is
 *    closed or its deadline passed, and after the deadline returns 0 with
 *    what is there or ETIMEDOUT with none; with ABORT, every call begun
 *    after pcq_abort, and every call that returns after it having moved
 *    nothing, returns ECANCELED;
 *  - side_valid() and pending <= 1 at every release of either mutex, and
 *    the mutex held by whoever releases it; the size (pushed - popped)
 *    within 0..ring at the same places (above the capacity only after a
 *    shrink);
 *  - model-only invariants at the same places: pending <= waiters (a
 *    wake-up said to be on its way has a thread to arrive, whose
 *    back_from_wait() will clear it); waiters == the threads of that side
 *    inside pthread_cond_wait, and batch_waiters == the batch waiters
 *    inside theirs (an announcement never outlives the critical section
 *    that made it unless the thread sleeps); and batch_need <= the count
 *    of every batch waiter asleep and not yet woken (the least count is
 *    registered, or a broadcast has woken them all).
 *
 * The protocol (src/pcq.c's design block): two sides, PUSH (producers,
 * waiting for room) and POP (consumers, waiting for elements), each with
 * its own mutex, condition variable, published counter `moved`, private
 * copy `seen` of the other side's counter, atomic `waiters` and `pending`
 * flag. A side copies its elements under its own lock, publishes `moved`,
 * then asks needs_wake() of the other side: `waiters` > 0 and no wake-up
 * already on its way (`pending` clear); if so, it lets go of its own lock
 * and signals under the other side's (wake_side). A thread about to sleep
 * announces itself in `waiters`, re-reads the other side's counter
 * (look), and waits only if it still cannot proceed: the announce and the
 * publish are sequentially consistent, so at least one of the two threads
 * sees the other's write (Dekker). Within a side, wake_one() signals only
 * when no wake-up is in flight, and sets `pending` under the side's lock;
 * any thread back from a wait clears it (back_from_wait), before it looks
 * at the ring again; a complete call passes the baton to the next of its
 * side if that side can still proceed. That clear and the mover's
 * publish are the second Dekker pair (publish, then load `pending`; clear,
 * then load `moved`): a mover that sees `pending` set and skips the
 * other side's lock has published before the clear, so the woken thread
 * sees its elements (or room). Before its first sleep in a call a thread
 * spins (lets go of its lock, takes it again and re-checks). Close takes
 * both locks, sets `closed` on both sides, and broadcasts each side that
 * has waiters, setting its `pending`.
 *
 * Batch waiters (pcq_pop_batch with a min above 1): a call waits until
 * its count, batch_min() = min(min, capacity), is there at once. It
 * sleeps on a third condition variable, the batch waiters', on the pop
 * side's mutex: it announces itself in the pop side's `batch_waiters`,
 * registers its count in `batch_need` (the least count any batch waiter
 * sleeps for; UINT64_MAX, the model's NONE, when none is known) if it is
 * below it, then looks; all seq_cst. A push, after its publish and
 * needs_wake(), asks batch_wake_due(): batch_waiters > 0 and its own size
 * (pushed - its copy of popped, never below the true size) >= batch_need.
 * (src/pcq.c first loads the queue's `extras`, seq_cst, and asks only if it
 * is not 0; a waiter raises `extras` before `batch_waiters` and lowers it
 * after, so `extras` read as 0 means `batch_waiters` would be read as 0 at
 * that point of the seq_cst order: the model's load of batch_waiters
 * stands for both. pass_baton's wake_batch_locked() likewise runs only when
 * `extras` was not 0 at the move, under the pop side's mutex, where no
 * batch waiter can come or go.)
 * if so, once it has let go of its lock (do_after()), it takes the pop
 * side's and calls wake_batch_locked(): when the least count is there (a
 * look) or the queue is closed, batch_need = NONE and a broadcast; each
 * woken waiter looks again, takes its batch or sleeps again, registering
 * its count anew. A complete pop does the same in pass_baton() (with its
 * lock). A batch caller whose count is 1 (min above a capacity of 1)
 * sleeps as a plain pop, on the pop side's condition variable.
 *  - pcq_abort: pcq_close's shut_locked() with `aborted` set too; every
 *    call (but pcq_drain) then returns ECANCELED, blocked or not;
 *    shut_locked() ends with wake_batch_locked(), which on a closed queue
 *    broadcasts to the batch waiters.
 *  - pcq_set_capacity: both locks; a capacity above the ring's slots
 *    regrows it (regrow(): the elements in order from slot 0); the new
 *    capacity; then every waiter looks again: each side's waiters, if
 *    any, are broadcast (with `pending` set), and the batch waiters are
 *    woken whatever their count (wake_batch_locked(anyway)), since their
 *    counts follow the capacity. A shrink below the size keeps every
 *    element: room is 0 until pops bring the size below the capacity.
 *  - The pass-on (2fd1da1): a batch caller back from the plain wait (it
 *    slept at capacity 1) that finds elements but fewer than its count
 *    (the capacity grew meanwhile) may have taken the one wake-up a push
 *    sent for them; it passes it on (wake_one), so a plain pop asleep
 *    beside them is not left there.
 * What the model does not check: how soon a sleeper wakes (only that none
 * sleeps for good), nor which batch waiter is served first.
 *
 * Shared mode (SHARED): the queue in memory shared between processes
 * (pcq_shared_init). Each side's mutex is a robust, process-shared one,
 * and threads sleep on a futex, not a condition variable (one would not
 * survive a waiter's death):
 *  - wo_wait(): under the mutex, after the re-check, the sleeper reads the
 *    side's sequence word, unlocks, and calls FUTEX_WAIT_BITSET with what
 *    it read: the kernel queues it only if the word still holds that. It
 *    sleeps until woken, or PCQ_SHARED_NAP_MS at most (the nap), then
 *    takes the lock again and goes on as after a condition wait.
 *  - wo_signal(), wo_broadcast(): under the mutex, the word advanced, then
 *    FUTEX_WAKE of one (or all); `pending` is set only if the kernel woke
 *    a thread: one between its read and its futex call returns at once
 *    (the word moved), and a dead one is in no futex queue, so neither
 *    may leave `pending` set with nobody to clear it.
 *  - A process may be killed (SIGKILL) at any step: KILLS (1) in a run,
 *    any worker, wherever KILLAT allows (by default anywhere: holding a
 *    lock, between a copy and its commit too; asleep; woken, before it
 *    takes the lock back; between calls), or with KILL_CLOSER the closer,
 *    inside pcq_close with both locks held, the push side closed and the
 *    pop side not yet. What it held stays: its lock, its announcement in
 *    `waiters`, a `pending` sent to it.
 *  - lock(): a mutex the dead process held is taken with EOWNERDEAD, and
 *    repair_side() runs first: the position from the committed count,
 *    the copy of the other side's count reloaded, `closed` from the other
 *    side, the push side's high-water mark up to the size, `pending`
 *    cleared.
 *  - move(): the copy, then the commit (the store of `moved`): two steps.
 *    A push killed between them is not delivered (the next push writes
 *    that slot again); a pop killed between them leaves its elements for
 *    the next pop. A pop's elements leave the ring at its commit.
 *  - The owner joins the producers, waits for pcq_size() to read 0, then
 *    closes: a survivor asleep beside an element, or a consumer that never
 *    learns of the close, is a hang (an invalid end state).
 * What SHARED checks: the survivors all finish (a dead process counts as
 * ended); every value whose push committed (so every one whose push
 * returned) was popped exactly once, by a survivor or by the victim (a
 * consumer killed after its commit loses what it took, and nothing else:
 * its elements left the ring there), and no value whose push did not
 * commit was; a pop reads only slots a committed push filled, from
 * the committed head; a push writes only an empty slot, or one a killed
 * push left uncommitted; FIFO; side_valid() and the model's checks at
 * every unlock; waiters == the threads asleep, or dead after their
 * announcement. Not modelled with SHARED (#error): batch waiters, resize,
 * cancellation, deadlines, abort, the other closers. Not modelled at all:
 * mark_broken() and the checks for a corrupt segment (counts_sane,
 * side_sane; the model's memory is never corrupt); a kill inside a step
 * that holds a lock: in wake_one() (between seq_wake()'s increment and
 * its FUTEX_WAKE, say), or between lock() and back_from_wait() after a
 * wait. The lock is then left to repair, and the repair only clears
 * `pending` and reloads what is current; a moved word with nobody woken
 * is a spurious return to a thread about to sleep. So the survivors see
 * no more than after a kill just before the step (for a woken thread:
 * with `pending` set) or just after it.
 *
 * Memory model: Spin interleaves whole statements, i.e. sequential
 * consistency. That is what the C's seq_cst publish, announce, clear of
 * `pending`, registration of `batch_need` and loads give the Dekker
 * pairs. The relaxed accesses elsewhere in the C are under the lock that
 * orders them (wake_one's, pass_baton's, wake_batch_locked's and the
 * shutters' reads of `waiters`, `pending`, `batch_waiters` and
 * `batch_need`), or only a hint (spin's watch of the counter, the CPU of
 * a side's last move), or stores under the lock that the other side may
 * see late: a decrement of `waiters` or `batch_waiters`, wake_one's set of
 * `pending`, wake_batch_locked's reset of `batch_need` (the stores under
 * both locks are seen by every load, which holds one of them). Seen late,
 * each only sends the other side to take the lock and find no one to wake
 * (or the wake-up already on its way), as a read just before the store
 * does in the model. What a missing fence would allow (the load of
 * `waiters`, or of `pending`, performed before the store of `moved`) is
 * the NO_FENCE and PENDING_EARLY variants.
 *
 * Configurations (spin -D...):
 *  default      the closer joins the producers, then closes (the usual
 *               shutdown). A lost wake-up leaves a thread asleep for good:
 *               an invalid end state.
 *  CLOSE_RACE   the closer runs pcq_close at any moment, racing the
 *               producers: pushes may fail with EPIPE, and what was
 *               accepted must still be drained exactly.
 *  ABORT        the closer runs pcq_abort at any moment, racing everyone
 *               (with QUOTA, once all have ended); init then drains what
 *               is left, as the owner would with pcq_drain.
 *  CANCEL       up to CANCELS (1) threads are cancelled inside their
 *               condition wait, asleep or already woken (then the wake-up
 *               meant for them is consumed: the worst case POSIX allows);
 *               wait_cancelled() runs and the thread ends. The others
 *               must still finish and drain everything accepted. (Not
 *               with batch waiters: batch_wait_cancelled() is not
 *               modelled.)
 *  QUOTA        each consumer and batch waiter pops exactly
 *               NP * NV / (NC + NB) elements (a call asks for at most what
 *               it still needs, a batch waiter's min too) and ends; the
 *               closer joins everyone, then closes. A caller that shares
 *               out a known amount of work so, rather than draining until
 *               EPIPE, relies on every wake-up reaching a thread that still
 *               pops; and a batch waiter's count, on a wake-up that comes
 *               before the close. (Not with CANCEL: a cancelled consumer
 *               leaves its share behind, a hang of the caller's making.)
 *  NB           batch waiters: 1 calls pcq_pop_batch(BMIN, BMAX) (2, 2),
 *               2 adds one with (BMIN2, BMAX2) (3, 3), until EPIPE.
 *  DEADLINE     a batch waiter's call may have a deadline: DEADLINES (1)
 *               of them pass in a run, at any moment the call is waiting
 *               (before a sleep, or as a wait's timeout); the call then
 *               takes what is there, or returns ETIMEDOUT when empty, and
 *               the waiter calls again. (Not with RESIZE or a capacity of
 *               1: a timed wait on the plain condition variable is not
 *               modelled.)
 *  RESIZE       a resizer calls pcq_set_capacity(RS1), then (RS2) (1,
 *               then 3), at any moment, racing everyone.
 *  SYNC         a producer pushes its next value only once its last one
 *               was popped (a request answered before the next is sent):
 *               no later push then wakes a consumer that a lost wake-up
 *               left asleep.
 *  NP NC CAP NV SPURIOUS BATCH CANCELS  sizes (see the defaults below).
 *  NO_VALID_PENDING  leave the model-only pending <= waiters out of
 *               valid() (side_valid's pending <= 1 stays), so that a
 *               broken variant shows the hang it causes rather than the
 *               invariant it breaks first.
 *  NO_VALID_NEED  likewise for batch_need <= every sleeping batch
 *               waiter's count.
 *  SHARED       a shared queue, its processes killed (see above); the
 *               owner closes once the producers are joined and the queue
 *               is empty. NC >= 2 when a consumer may die: one must be
 *               left to drain the queue.
 *  KILLS        (SHARED) processes killed in a run: 1, or 0.
 *  KILLAT       (SHARED) where a worker may be killed, a mask (15):
 *               KILL_HELD (1) holding a lock; KILL_ASLEEP (2) between its
 *               read of the word and its futex call, or in the futex;
 *               KILL_WOKEN (4) out of the futex (woken, or its nap ended),
 *               the lock not yet taken back; KILL_FREE (8) anywhere else.
 *  KILL_CLOSER  (SHARED) the closer may be the victim, in pcq_close.
 *
 * Broken variants, each expected to fail (make model checks they do):
 *  NO_FENCE      the mover reads the other side's `waiters` before it
 *                publishes `moved` (the store-load reordering a missing
 *                fence allows): a sleeper announces and looks between the
 *                two, sees the old count and sleeps; the mover saw no
 *                sleeper and wakes no one.
 *  NO_RECHECK    the sleeper does not look at the other side's counter
 *                after announcing itself (it trusts its copy): a mover
 *                that published and read `waiters` just before the
 *                announcement is missed by both.
 *  PENDING_EARLY  the mover reads the other side's `pending` before it
 *                publishes `moved` (the second pair's reordering): it sees
 *                a wake-up on its way; the woken thread clears `pending`,
 *                looks before the publish, finds nothing and sleeps
 *                again; the mover then sees it asleep, but trusts its
 *                stale `pending` and wakes no one. (The woken thread's
 *                half of the pair has slack: with its clear moved after
 *                its first look, the default, QUOTA and CAP=1
 *                configurations still pass, as every path from there
 *                looks again after the clear (the next move_now, the
 *                re-check before a sleep, pass_baton's can_go) or wakes
 *                the next sleeper without looking. Not a variant, then.)
 *  SIGNAL_UNLOCKED  wake_side() reads the other side's `pending` and
 *                `waiters` and signals without taking that side's lock:
 *                the signal lands between a sleeper's announcement and
 *                its wait (nobody in the condition variable yet) or after
 *                the sleeper found it could go, and `pending` is left set
 *                with no thread to clear it.
 *  CLOSE_SIGNAL  pcq_close signals each condition variable once instead of
 *                broadcasting: a second sleeping consumer never wakes.
 *  IF_WAIT       after one sleep the thread does not re-test the ring: it
 *                moves as if what it waited for had come (a wait under
 *                `if` instead of `while`): pops a slot no push filled.
 *  ONE_CV        the two sides share one condition variable (each keeps
 *                its own counts): a pop's wake-up meant for a sleeping
 *                producer wakes a sleeping consumer instead, which finds
 *                the ring empty and sleeps again, while the producers'
 *                `pending` says a wake-up is on its way to them. (In C,
 *                one condition variable waited on with two mutexes is
 *                undefined behaviour; the model's condition variable does
 *                not care which mutex, so this is the variant's best case.)
 *  NO_PENDING_RESET  back_from_wait() does not clear `pending`: after
 *                the first wake-up of a side, wake_one() believes one is
 *                always in flight and never signals that side again.
 *                side_valid's pending <= 1 still holds; the model's
 *                pending <= waiters fails at once; with NO_VALID_PENDING
 *                the hang itself is found.
 *  NO_CANCEL_BATON  (with CANCEL) wait_cancelled() does not pass a
 *                wake-up on: a thread that was signalled is cancelled
 *                before it is back, and the wake-up dies with it. It needs
 *                the worst case the model allows: cancelled after the
 *                signal unblocked it (POSIX forbids consuming a signal
 *                only to a thread that the cancellation itself unblocked).
 *  NO_BATON      (with QUOTA) the woken thread does not pass the baton:
 *                two elements come in while one wake-up is in flight (two
 *                pushes, the second finding `pending` set; or one
 *                push_many), so one of two sleeping consumers is woken; it
 *                pops one element, meets its quota and ends; the other
 *                sleeps beside the second element for good. With
 *                consumers that pop until EPIPE a wake-up not passed on is
 *                only late (close wakes every sleeper).
 *  BATCH_NO_REGISTER  batch_sleep_once() does not register its count in
 *                `batch_need`: it stays NONE, so no push finds a batch
 *                wake-up due and pass_baton's wake_batch_locked skips it.
 *                batch_need <= its count fails as it sleeps; with
 *                NO_VALID_NEED (and QUOTA: the plain consumer takes its 2,
 *                ends, and the close waits for everyone) the batch waiter
 *                sleeps beside its 2 elements for good. Without QUOTA the
 *                close would wake it: only late.
 *  BATCH_NO_RECHECK  batch_sleep_once() does not look after announcing
 *                itself and registering its count (it trusts its copy):
 *                the last push publishes between the announcement and the
 *                registration, finds `batch_need` still NONE (reset by the
 *                broadcast that woke the waiter before) and wakes no one;
 *                the waiter registers 2 and sleeps on its stale copy
 *                beside its 2 elements (with QUOTA, as above).
 *  BATCH_SIGNAL  wake_batch_locked() signals one batch waiter instead of
 *                broadcasting, and forgets the counts (batch_need = NONE),
 *                as before: with two batch waiters of mins 2 and 3
 *                (capacity 3, QUOTA: 3 elements each), a push of 2 wakes
 *                the one with min 2 only, and the reset forgets the
 *                other's 3: batch_need <= its count fails at once; with
 *                NO_VALID_NEED, the last 3 elements come in with no count
 *                registered, and the waiter with min 3 sleeps beside them
 *                for good.
 *  ABORT_NO_BROADCAST  shut_locked() (pcq_abort's, as pcq_close's) leaves
 *                out wake_batch_locked(): a batch waiter asleep when the
 *                queue is aborted never learns it.
 *  RESIZE_NO_WAKE  pcq_set_capacity does not broadcast to the producers'
 *                waiters: a producer asleep on a full ring of capacity 1
 *                stays asleep when it grows to 2 (with no consumer, nothing
 *                else makes room).
 *  NO_PASS_ON    (with RESIZE) a batch caller back from the plain wait
 *                does not pass a wake-up on (2fd1da1's second part
 *                undone). At capacity 1 a pop_batch(min 2) sleeps on the
 *                plain condition variable; the capacity grows to 3 and the
 *                resize's broadcast sets `pending`; a pcq_pop goes to
 *                sleep beside it; a push finds `pending` set and sends no
 *                wake-up; the batch caller clears `pending`, refuses the
 *                one element (it needs 2 now) and sleeps as a batch
 *                waiter; the pcq_pop sleeps beside the element for good
 *                (with SYNC: no second push comes to wake it).
 *  RESIZE_NO_POP_WAKE  (with NO_PASS_ON: both parts of 2fd1da1 undone)
 *                pcq_set_capacity broadcasts only to the producers'
 *                waiters and the batch waiters: the batch caller asleep as
 *                a plain pop takes the one wake-up the push sends for its
 *                element, refuses it and sleeps as a batch waiter; the
 *                pcq_pop beside it is never woken (the bug the model found
 *                before 2fd1da1). RESIZE_NO_POP_WAKE alone passes every
 *                configuration tried: the pass-on alone closes the hole,
 *                the pop side's broadcast alone does not (NO_PASS_ON);
 *                the C keeps both (the broadcast sends a batch caller
 *                asleep as a plain pop to the batch condition variable at
 *                once, rather than at the next push). Not a variant alone,
 *                then.
 * The shared mode's (with SHARED; the kill anywhere unless said):
 *  SHM_NO_REPAIR  lock() answers EOWNERDEAD with pthread_mutex_consistent()
 *                alone, the side as the dead process left it: a consumer
 *                killed between its copy and its commit leaves the
 *                position one past the count; the next pop copies from
 *                there, a slot no committed push filled (a torn element).
 *  SHM_COMMIT_EARLY  move() stores the push's count before its copy: a
 *                pop takes a slot not yet written. Found first with no
 *                death at all (the order is a plain race); a push killed
 *                between the two would deliver the unwritten slot.
 *  SHM_NO_NAP    an untimed futex wait: a consumer woken (`pending` set
 *                for it), then killed between its copy and its commit,
 *                leaves the other consumer asleep beside that element for
 *                good: no push comes, the owner waits for the queue to
 *                empty, and nobody takes the pop side's lock to repair it.
 *  SHM_PENDING_ALWAYS  (with SHM_NO_NAP and KILLAT=2: deaths in the futex
 *                only, which the correct protocol survives with no nap,
 *                ok-shm-asleep-nonap) wo_signal() says a wake-up is on its
 *                way whatever the kernel woke, as a condition variable's
 *                signal does: the dead sleeper's announcement keeps
 *                `waiters` above 0, a push's wake_one() wakes nobody yet
 *                sets `pending`, and the consumer that sleeps next is
 *                never signalled.
 *  SHM_SEQ_UNLOCKED  (with SHM_NO_NAP and KILLS=0: no death, which the
 *                correct protocol survives with no nap,
 *                ok-shm-nodeath-nonap) wo_wait() reads the sequence word
 *                after letting go of the mutex: the close (or a wake-up)
 *                advances the word between the unlock and the read, and
 *                finds nobody in the futex to wake; the sleeper then waits
 *                on the new value for good.
 *  SHM_NO_CLOSE_SYNC  (with KILL_CLOSER, no other victim) repair_side()
 *                does not take `closed` from the other side: the closer
 *                killed with the push side closed leaves the pop side open
 *                and empty, and the consumers nap for ever (a livelock in
 *                the C; a hang here, once each has napped).
 *  SHM_NO_HW_REPAIR  repair_side() before 8c4ee1e: the push side's
 *                high-water mark left as it was. A push killed between its
 *                commit and raise_high_water() (2 producers, capacity 1)
 *                leaves the size above the mark; the next unlock of the
 *                push side fails side_valid(), an abort in the C's debug
 *                builds.
 *
 * How the Promela maps to the C
 * -----------------------------
 *  s->mu                 `mtx[d]`: 0 free, else owner's thread index + 1.
 *                        A thread takes it in a step's guard (so it blocks
 *                        until free); unlock() asserts that the caller
 *                        owns it and checks valid(d).
 *  s->cv, q->batch_cv    `cvset[CV(d)]`, `cvset[BCV]`: the set of threads
 *                        blocked in the condition variable, one bit per
 *                        thread (producers 0..NP-1, consumers NP..NP+NC-1,
 *                        batch waiters after them).
 *  s->moved, s->seen,    `moved[d]`, `seen[d]`, `pos[d]` (tail for PUSH,
 *  s->pos                head for POP, with the compare-and-subtract wrap);
 *                        d is PUSH (0) or POP (1), as enum dir. The counts
 *                        never exceed NP * NV, so they do not wrap.
 *  s->waiters,           `waiters[d]`, `pending[d]`, `closed[d]`,
 *  s->pending, s->closed `high_water` (the push side's); the two sides'
 *  s->aborted,           `aborted`, one flag (both are set together, under
 *  s->high_water         both locks).
 *  batch_waiters,        `batch_waiters`, `batch_need` (NONE for
 *  batch_need (pop side) UINT64_MAX).
 *  q->cap, q->ring       `cap`, `ringsz` (both locks to write).
 *  slots                 `ring[]` holds value ids, 0 = empty slot: a push
 *                        asserts it writes only empty slots, a pop that it
 *                        reads only full ones, and empties them.
 *  look(), available(),  look(d): seen[d] = moved[other]; ROOM(d) is
 *  room_by(), can_go()   room_by() with the copy (room 0 while the size is
 *                        at or above the capacity); available() and can_go()
 *                        are spelled out where the C calls them: the copy
 *                        first, look only when it says 0.
 *  batch_min()           WANT: min(the call's min, cap).
 *  move()                the copy and pos in MOVE; the seq_cst store of
 *                        `moved` there too, unless available() looked in
 *                        that step, then it is PUBLISH; then, for a push
 *                        that would raise the high-water mark, HWLOOK (look
 *                        again, raise it).
 *  after_move()          needs_wake(): SLEEPERS (load waiters[other]), then,
 *                        if it is > 0, PENDING (load pending[other]): wake
 *                        = waiters > 0 && pending == 0 (the C's
 *                        WAKE_OTHER). Two racy loads, two steps. Then, for
 *                        a push, batch_wake_due(): BSLEEPERS (load
 *                        batch_waiters), then if > 0 BNEED (load batch_need,
 *                        compare with its size): bwake (WAKE_BATCH). The
 *                        pollable descriptors' part is not modelled.
 *  pass_baton()          in settle(), for a call that was woken (`woken`,
 *                        x->woken; BATON_ALWAYS: any call, as before);
 *                        the BATON step when can_go() has to look;
 *                        wake_one()'s store of `pending` in the SIGNAL
 *                        step, as settle() and BATON follow a racy load.
 *                        Then, on the pop side, wake_batch_locked()
 *                        (batch_baton()): with batch waiters, when closed,
 *                        BBRESET (batch_need = NONE, broadcast); else, when
 *                        a count is registered, BBATON (its look), then
 *                        BBRESET if the count is there.
 *  wake_one()            wake_one(d): if pending == 0 && waiters > 0:
 *                        pending = 1 and signal.
 *  wake_side()           WAKE (after the call's unlock) or MIDWAKE (a push
 *                        batch that filled the ring: unlock, wake, lock,
 *                        move_now again): lock the other side, wake_one,
 *                        unlock.
 *  wake_batch()          BWAKE (after WAKE, or alone; mid-batch too): lock
 *  wake_batch_locked()   the pop side; with batch waiters, if closed:
 *                        batch_need = NONE, broadcast; else if a count is
 *                        registered, look; if it is there, BWRESET
 *                        (batch_need = NONE, broadcast); unlock.
 *  do_after()            WAKE, then BWAKE, from outside the mover's lock.
 *  back_from_wait()      back_from_wait(d): waiters--; pending = 0, in
 *                        WOKEN's step. Two racy stores in one step: the
 *                        other side reads them only in needs_wake(), in
 *                        the opposite order (waiters, then pending), and
 *                        only for wake = waiters > 0 && !pending; the one
 *                        outcome that splitting them adds (the new
 *                        waiters with the old pending) gives the same
 *                        wake as both old values (waiters still > 0) or
 *                        as both new (none left, pending not read).
 *  sleep_once()          ANNOUNCE (waiters++), RECHECK (closed or look; if
 *                        it can go: UNANNOUNCE (waiters--) and move_now
 *                        again; else join the set and release the mutex in
 *                        ONE step), WOKEN (out of the set and the mutex
 *                        free: take it, back_from_wait).
 *  transfer()'s pass-on  PASSON, after WOKEN for a batch caller (one that
 *                        slept as a plain pop): available() (the copy, or a
 *                        look when it says 0); if 0 < it < its count,
 *                        wake_one (in PASSWAKE when it looked). After
 *                        UNANNOUNCE the C asks too, but the capacity cannot
 *                        have changed under the lock, so the count is still
 *                        1 and the test false: not modelled there.
 *  batch_sleep_once()    BANNOUNCE (batch_waiters++), BREGISTER
 *                        (batch_need = its count, when below it), BRECHECK
 *                        (closed or look >= its count: BUNANNOUNCE
 *                        (batch_waiters--) and move_now again; else join
 *                        the batch set and release the mutex in one step),
 *                        BWOKEN (out of the set and the mutex free: take
 *                        it, batch_waiters--; or, with DEADLINE, time out).
 *  pthread_cond_wait     the join above; the thread then blocks until its
 *                        bit is cleared, by a signal or a broadcast, and
 *                        re-acquires the mutex, competing like any other
 *                        locker. Or it returns spuriously:
 *                        WOKEN (BWOKEN) may also run with its bit still set
 *                        (it clears it), at most SPURIOUS times in a run,
 *                        for any waiter, whenever the mutex is free.
 *                        (Leaving the set spuriously earlier, while the
 *                        mutex is taken, reaches nothing more: a signal in
 *                        between finds one member fewer, which the model
 *                        also reaches by that signal waking this thread,
 *                        with a spurious wake-up left over.)
 *  pthread_cond_timedwait  (DEADLINE, batch waiters) BWOKEN may also run
 *                        with the bit set as a timeout, while the call's
 *                        deadline has passed or one may still pass.
 *  pthread_cond_signal   cv_signal(): if the set is non-empty, clear one
 *                        member's bit, chosen nondeterministically (every
 *                        choice is explored); else nothing.
 *  pthread_cond_broadcast  clear the whole set.
 *  pthread_cancel        with CANCEL, WOKEN may also take a thread out of
 *                        its wait cancelled, while the budget CANCELS
 *                        lasts: asleep (its bit still set) or woken (the
 *                        wake-up meant for it is consumed). As with the
 *                        spurious return, being cancelled the moment it
 *                        gets the mutex back reaches all that an earlier
 *                        cancellation does.
 *  wait_cancelled()      WOKEN's back_from_wait, then CANCELLED: wake_one
 *                        if can_go (in SIGNAL when can_go looked), unlock;
 *                        the thread ends (its call returns ECANCELED in
 *                        the model so the process can record what a
 *                        cancelled push_many had put in).
 *  batch_wait_cancelled()  not modelled (no CANCEL with batch waiters).
 *  spin()                unlock; lock (the next MOVE step): between the
 *                        two, every other thread may run. The C watches
 *                        the other side's counter meanwhile (a hint,
 *                        relaxed; for a producer, until a quarter of the
 *                        ring is free), or, when the other side last ran
 *                        on this CPU, sched_yield()s; the budget only
 *                        bounds how long: not modelled. A spin that
 *                        returns without letting go of the lock (a side
 *                        that stopped spinning) is the run where MOVE
 *                        comes straight after the unlock.
 *  xfer_one(),           thread(): lock, then transfer()'s loop with the
 *  xfer_many(),          same order of tests (aborted -> ECANCELED; closed
 *  pcq_pop_batch(),      push -> EPIPE; room/elements (a batch that asks
 *  transfer(),           for more than its copy shows looks again) ->
 *  move_now()            closed and empty pop -> EPIPE, empty -> EAGAIN; a
 *                        batch waiter's count not there, not closed, not
 *                        expired -> EAGAIN; else move min(avail, n - done),
 *                        after_move, pass_baton if complete (pop, or
 *                        push with all n in), 0 if complete; on EAGAIN: a
 *                        timed call whose deadline passed takes what is
 *                        there (expired) or fails; else wake the other
 *                        side mid-batch if owed, else spin once, else
 *                        sleep_once or, for a count above 1,
 *                        batch_sleep_once; loop), then unlock and
 *                        do_after. The call's size n is chosen at its first
 *                        copy (choose_n()). Only the blocking mode
 *                        (pcq_push, pcq_pop, pcq_push_many, pcq_pop_many,
 *                        pcq_pop_batch; with DEADLINE, pcq_pop_batch's
 *                        timed mode) is modelled: try and timed calls
 *                        leave the loop earlier but wait and wake the same
 *                        way (a timeout is a spurious return, then the same
 *                        re-check before ETIMEDOUT). xfer_one()'s fast path
 *                        (room or an element at once: move 1, after_move,
 *                        pass_baton, unlock, do_after) is the loop's first
 *                        pass for n = 1; when it finds none, its look is
 *                        taken again by move_now() before anything else is
 *                        read, so the model's one look stands for both.
 *  pcq_close(),          closer: lock PUSH, then POP; shut_locked(): for
 *  pcq_abort(),          each side: closed (and with ABORT, aborted), and
 *  shut_locked()         if it has waiters: pending = 1 and broadcast; then
 *                        wake_batch_locked(), which broadcasts to the batch
 *                        waiters of a closed queue; unlock POP, then PUSH.
 *  pcq_set_capacity(),   resizer: lock PUSH, then POP; regrow() if the
 *  regrow()              capacity is above the slots; cap; for each side
 *                        with waiters: pending = 1 and broadcast; with
 *                        batch waiters: batch_need = NONE and broadcast;
 *                        unlock POP, then PUSH. Its ENOMEM is not modelled.
 *  pcq_drain()           init, at the end: what is left, by the owner.
 *  side_valid()          valid(d), with pending <= 1 and the model's own
 *                        checks, at every release of mtx[d].
 *  statistics, spin      not modelled (no effect on the protocol).
 *  budgets, s->cpu,
 *  q->low, pcq_peek,
 *  pollable descriptors
 *  PCQ_INJECT_SPURIOUS   not modelled: the test build's early return
 *                        (unlock; lock) is the spin step again.
 * With SHARED:
 *  robust s->mu          mtx[d]; FREE(d): free, or held by the dead process
 *                        (`dead`: its index + 1); take() (lock()): repair()
 *                        (repair_side()) first when the dead held it. Its
 *                        reload of the other side's count is a second racy
 *                        load in the step that takes the lock (beside
 *                        move_now's look, at most): both load the same
 *                        counter, and a look a moment later only finds it
 *                        as fresh or fresher, as the stale copies the
 *                        model keeps elsewhere already cover.
 *  s->w.seq              wseq[d]; the kernel's futex queue on it: fset[d],
 *                        one bit per thread.
 *  wo_wait(),            RECHECK's fjoin (the word read into myseq,
 *  futex_nap()           sleeping++, unlock), FWAIT (the kernel compares
 *                        and queues in one step), FUTEX (out of the queue:
 *                        lock again, with repair, then back_from_wait);
 *                        the nap and a spurious return (EINTR, SPURIOUS)
 *                        take a thread out of the queue in FUTEX too.
 *  wo_signal()           futex_wake1(d), in wake_one(): wseq++, then one
 *                        queued thread out and pending = 1, or nothing.
 *                        seq_wake()'s increment and FUTEX_WAKE are one
 *                        step: a futex call between them returns at once
 *                        (the word moved) and is not woken, as one after
 *                        both; and the signaller holds the side's lock, so
 *                        nothing else of that side can run in between.
 *  wake_all_locked()     close_side(): wseq++, all out, pending if any was.
 *  move()                MOVE (the copy: ring_put, or for a pop ring_copy
 *                        into its buffer cp[]), PUBLISH (the commit:
 *                        commit_push or commit_pop, then the store).
 *  SIGKILL               the kill step (see KILLAT), or KILL_CLOSER's.
 *  recoveries, the spin  not modelled.
 *  tuning repair_side()
 *  resets
 *  the sleeper slots,    not modelled: they only lower `waiters` by the
 *  reap_dead_sleepers()  announcements of sleepers whose process is gone
 *                        (the model's leftover count of the dead), after
 *                        wake-ups that woke nobody; a signal they then
 *                        skip would have woken nobody. A wrong take-out (a
 *                        reused pid, another pid namespace) leaves a live
 *                        sleeper unsignalled: the nap (`timeout`) finds
 *                        it, as SHM_PENDING_ALWAYS shows a lost signal is
 *                        found.
 *
 * Steps. Each producer, consumer and batch waiter is a `worker` process,
 * a machine over its `pc`: each option of thread()'s loop is one step,
 * one atomic Promela statement, named by the pc it runs at (MOVE,
 * PUBLISH, ... above the queue's variables). A step holds at most one racy
 * access: a store or load of `moved`, `waiters`, `pending`,
 * `batch_waiters` or `batch_need`, which one side writes under its own
 * lock and the other reads under its own lock or none (the stores of
 * pcq_close, pcq_abort and pcq_set_capacity are not racy: they hold both
 * locks, and every load holds one). The rest of a step is accesses
 * guarded by a lock the thread holds (no other thread sees them until it
 * lets go), a lock taken in its guard, lock releases at its end, and ring
 * slots, which the counters hand from side to side so that no two threads
 * touch one at once (ring_put and ring_get assert the slot is in the
 * state the hand-off promises). That is Lipton's reduction
 * (acquisitions move right, releases left, guarded accesses either way,
 * one non-mover per step): every interleaving of the C's statements is
 * equivalent to one of these steps'. So every racy access is a step of
 * its own, in the C's order: the publish, each look, the announce and its
 * undoing, needs_wake's reads of the other side's waiters and pending,
 * wake_one's set of pending, batch_wake_due's two loads, the batch
 * announce, registration, re-check and undoing, each reset of batch_need
 * under the pop lock alone (one exception: back_from_wait, see above); in
 * C a step is several statements, in the model it cannot be cut. The
 * waiter sets too change only under their side's lock: a thread leaves
 * its set, spuriously, timed out or cancelled, in the step that takes the
 * lock back. SIGNAL_UNLOCKED breaks the premise (pending and the set are
 * then touched without the lock): there the signal, its test, and the
 * sleeper's join are steps of their own.
 * A step blocks only in its guard, except pcq_close's and
 * pcq_set_capacity's, which may pause between their two locks holding the
 * first, as the C does.
 *
 * Why spurious wake-ups are bounded: with an unbounded supply, a thread
 * that missed its wake-up could always wake spuriously, so a lost wake-up
 * would be a livelock, not a deadlock, and a safety run (-DSAFETY) would
 * not see it. With a budget, every run that uses up the budget (or never
 * touches it) must still end; runs with 0..SPURIOUS spurious wake-ups at
 * any points are all explored. Deadlines are bounded (DEADLINES) for the
 * same reason.
 *
 * Why a nap ends only at `timeout`, and once per sleeper between two
 * moves (SHARED): the nap is the C's answer to what a dead process leaves
 * behind (a `pending` for a wake-up it will never take, a wake-up it did
 * not live to send). A nap that could end at any moment would hide every
 * lost wake-up, so it ends only when nothing else can move (Promela's
 * `timeout`). And a nap that can always come again turns a hang into a
 * livelock, which a safety run does not see: so each sleeper naps at most
 * once until something moves (a commit, or the close, clears `napped`).
 * Between two moves a sleeper's second nap finds what its first found
 * (the counts change only by a move; the repairs are done), so a run that
 * needs it is one that naps for ever. The correct runs pass so. A nap
 * that ends while others run is a spurious return (SPURIOUS).
 *
 * Why ghosts sit in ring_get(): the pop order is the order elements leave
 * the ring under the pop lock, so duplication and FIFO are checked there,
 * at one instant, not later in the consumer where pops could be reordered.
 */


#ifndef NP
#define NP 2 /* producers */
#endif
#ifndef NC
#define NC 2 /* consumers: pcq_pop, pcq_pop_many */
#endif
#ifndef NB
#define NB 0 /* batch waiters: pcq_pop_batch with a min above 1 (0, 1 or 2) */
#endif
#ifndef BMIN
#define BMIN 2 /* the first batch waiter's min */
#endif
#ifndef BMAX
#define BMAX BMIN /* and its max */
#endif
#ifndef BMIN2
#define BMIN2 3 /* the second batch waiter's min */
#endif
#ifndef BMAX2
#define BMAX2 BMIN2 /* and its max */
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
#ifndef DEADLINES
#define DEADLINES 1 /* with DEADLINE: deadlines that pass in one run */
#endif
#ifndef KILLS
#define KILLS 1 /* with SHARED: processes killed in one run (0 or 1) */
#endif
#ifndef KILLAT
#define KILLAT 15 /* with SHARED: where a victim may die (KILL_HELD | ...) */
#endif
#ifdef RESIZE
#ifndef RS1
#define RS1 1 /* the resizer's first capacity */
#endif
#ifndef RS2
#define RS2 3 /* and its second */
#endif
#endif

#define PUSH 0 /* enum dir */
#define POP 1
#define EPIPE 32
#define ETIMEDOUT 110
#define ECANCELED 125 /* pcq_abort; or (CANCEL) the thread ended in wait_cancelled() */

#ifdef ONE_CV
#define CV(d) 0 /* broken: one condition variable for both sides */
#else
#define CV(d) (d)
#endif
#define BCV 2 /* the batch waiters' condition variable: cvset[BCV] */
#define BIT(t) (1 << (t))
#define NW (NP + NC + NB) /* workers: producers, consumers, batch waiters */
#define CLOSER NW         /* the closer's thread index (mutex owner NW + 1) */
#define RESIZER (NW + 1)  /* the resizer's */
#define NVAL (NP * NV)
#define NONE 255 /* batch_need: UINT64_MAX, no count known */
#ifdef RESIZE
#define NOTHERS 2 /* the closer and the resizer */
#else
#define NOTHERS 1
#endif

/* Slots the ring may have: the largest capacity it is given. */
#if defined(RESIZE) && RS1 > CAP && RS1 >= RS2
#define RINGMAX RS1
#elif defined(RESIZE) && RS2 > CAP
#define RINGMAX RS2
#else
#define RINGMAX CAP
#endif

/* room_by() with side d's copy of the other side's counter: room (push;
 * 0 while the size is at or above the capacity, as a shrink may leave it)
 * or elements (pop). */
#define SIZE_P (moved[PUSH] - seen[PUSH])
#define ROOM(d) ((d) == PUSH -> (SIZE_P < cap -> cap - SIZE_P : 0) : seen[POP] - moved[POP])

/* A consumer's min for this call (1 for pcq_pop and pcq_pop_many; with
 * QUOTA no more than it still needs), and batch_min(): the count it waits
 * for, its min or the whole ring when the min is above the capacity. */
#ifdef QUOTA
#define CMIN (bmin < left -> bmin : left)
#else
#define CMIN bmin
#endif
#define WANT (CMIN < cap -> CMIN : cap)

/* SYNC: a producer pushes its next value only once its last one was
 * popped (a request answered before the next is sent). */
#ifdef SYNC
#define SYNC_OK(d) (pc != IDLE || d == POP || seq == 0 || got[me * NV + seq - 1])
#else
#define SYNC_OK(d) true
#endif

/* A batch waiter's call that expired (took what is there). */
#ifdef DEADLINE
#define EXPIRED expired
#else
#define EXPIRED false
#endif

#if NW > 8
#error "waiter sets are one byte: at most 8 producers, consumers and batch waiters"
#endif
#if NVAL > 254
#error "counters are bytes"
#endif
#if NB > 2
#error "at most 2 batch waiters"
#endif
#if NB > 0 && defined(CANCEL)
#error "batch_wait_cancelled() is not modelled: no CANCEL with batch waiters"
#endif
#if defined(DEADLINE) && NB > 0 && (defined(RESIZE) || CAP < 2)
#error "a timed wait on the plain condition variable (min above a capacity of 1) is not modelled"
#endif
#if defined(SHARED) && (NB > 0 || defined(RESIZE) || defined(CANCEL) || defined(DEADLINE) || \
    defined(ABORT) || defined(CLOSE_RACE) || defined(QUOTA) || defined(SYNC))
#error "SHARED: plain producers and consumers, the owner's close; nothing else is modelled"
#endif
#if defined(SHARED) && KILLS > 0 && NC < 2
#error "SHARED: a killed consumer must leave one to drain the queue (NC >= 2)"
#endif

#ifdef SHARED
/* Where a worker may be killed (KILLAT): holding a lock (between the copy
 * and the commit, after the commit, ... until the unlock); asleep
 * (between the unlock and the futex call, or in it, not woken); woken
 * (out of the futex, by a wake-up or its nap, the lock not yet taken
 * back); anywhere else (between calls, in spin(), before wake_side()). */
#define KILL_HELD 1
#define KILL_ASLEEP 2
#define KILL_WOKEN 4
#define KILL_FREE 8
#define HELD_BY_ME (mtx[PUSH] == me + 1 || mtx[POP] == me + 1)
#define ASLEEP_NOW (pc == FWAIT || pc == SEQREAD || (pc == FUTEX && (fset[d] & BIT(me)) != 0))
#define WOKEN_NOW (pc == FUTEX && (fset[d] & BIT(me)) == 0)
#define KILLABLE (((KILLAT & KILL_HELD) != 0 && HELD_BY_ME) || \
                  ((KILLAT & KILL_ASLEEP) != 0 && ASLEEP_NOW) || \
                  ((KILLAT & KILL_WOKEN) != 0 && WOKEN_NOW) || \
                  ((KILLAT & KILL_FREE) != 0 && !HELD_BY_ME && !ASLEEP_NOW && !WOKEN_NOW))
#endif

/* Steps of a call (values of a worker's pc; model.sh names them so). */
#define IDLE 0        /* between calls: the next call's lock and move_now() */
#define MOVE 1        /* lock (after spin or a mid-batch wake), move_now() */
#define MOVE_HELD 2   /* move_now() again, the lock still held */
#define PUBLISH 3     /* move(): the seq_cst store of moved, after a look */
#define HWLOOK 4      /* move(): look again before raising high_water */
#define SLEEPERS 5    /* needs_wake(other side): its load of waiters */
#define PENDING 6     /* needs_wake(other side): its load of pending */
#define BATON 7       /* pass_baton(): can_go() had to look */
#define SIGNAL 8      /* wake_one() after a racy load: pass_baton's, wait_cancelled()'s */
#define MIDWAKE 9     /* transfer(): wake_side mid-batch, then lock again */
#define WAKE 10       /* transfer(): wake_side after the unlock */
#define ANNOUNCE 11   /* sleep_once(): waiters++ */
#define RECHECK 12    /* sleep_once(): closed || look() > 0, else wait */
#define UNANNOUNCE 13 /* sleep_once(): it can go after all: waiters-- */
#define JOIN 14       /* SIGNAL_UNLOCKED only: the wait, apart from the re-check */
#define WOKEN 15      /* in pthread_cond_wait: out of the set, re-lock */
#define CANCELLED 16  /* wait_cancelled() after back_from_wait() */
#define WAKE_SIG 17   /* SIGNAL_UNLOCKED only: the signal of WAKE */
#define MIDWAKE_SIG 18 /* SIGNAL_UNLOCKED only: the signal of MIDWAKE */
#define END 19        /* the thread ended */
#define BSLEEPERS 20  /* batch_wake_due(): its load of batch_waiters */
#define BNEED 21      /* batch_wake_due(): its load of batch_need */
#define BWAKE 22      /* do_after(): wake_batch(), lock the pop side, wake_batch_locked()'s look */
#define BWRESET 23    /* wake_batch(): batch_need = none, broadcast, unlock the pop side */
#define BBATON 24     /* pass_baton() (pop): wake_batch_locked()'s look */
#define BBRESET 25    /* pass_baton() (pop): batch_need = none, broadcast */
#define BANNOUNCE 26  /* batch_sleep_once(): batch_waiters++ */
#define BREGISTER 27  /* batch_sleep_once(): batch_need = need */
#define BRECHECK 28   /* batch_sleep_once(): closed || look() >= need, else wait */
#define BUNANNOUNCE 29 /* batch_sleep_once(): it can go after all: batch_waiters-- */
#define BWOKEN 30     /* in the batch waiters' wait: out of the set, re-lock, batch_waiters-- */
#define PASSON 31     /* transfer(): a batch caller back from the plain wait: available(), pass on? */
#define PASSWAKE 32   /* transfer(): its wake_one(), after available() had to look */
#define FWAIT 33      /* SHARED, futex_nap(): FUTEX_WAIT_BITSET, asleep unless the word moved */
#define FUTEX 34      /* SHARED, wo_wait(): in the futex or back from it; lock() again */
#define SEQREAD 35    /* SHM_SEQ_UNLOCKED only: the sequence word read after the unlock */
#define LATECOPY 36   /* SHM_COMMIT_EARLY only: move()'s copy, after the commit */

/* ---- the queue, as in struct pcq_queue / struct side ---- */
byte mtx[2];
byte cvset[3];       /* PUSH's, POP's, and the batch waiters' (BCV, on mtx[POP]) */
byte ring[RINGMAX];
byte moved[2];       /* atomic: stored under mtx[d], loaded anywhere */
byte pos[2];         /* mtx[d] */
byte seen[2];        /* mtx[d] */
byte high_water;     /* mtx[PUSH] */
byte waiters[2];     /* atomic: changed under mtx[d], loaded anywhere */
byte pending[2];     /* atomic: changed under mtx[d], loaded anywhere */
bool closed[2];      /* both locks to write, mtx[d] to read */
bool aborted;        /* both locks to write, either to read (one flag for the two sides') */
byte cap = CAP;      /* both locks to write, either to read */
byte ringsz = CAP;   /* slots in the ring: both locks to write, either to read */
byte batch_waiters;  /* atomic: changed under mtx[POP], loaded anywhere */
byte batch_need = NONE; /* atomic: changed under mtx[POP], loaded anywhere */
#ifdef SHARED
byte wseq[2];        /* s->w.seq: atomic, advanced under mtx[d], loaded under it */
byte fset[2];        /* the kernel's futex queue on wseq[d]: one bit per thread */
#endif

/* ---- the world around it ---- */
byte spurious = SPURIOUS; /* spurious wake-ups left */
byte prod_done;           /* producers that returned (or were cancelled) */
byte finished;            /* workers that ended */
byte others;              /* the closer and the resizer, once ended */
byte sleeping[2];         /* threads of side d inside pthread_cond_wait */
byte bsleeping;           /* batch waiters inside pthread_cond_wait on BCV */
#ifdef CANCEL
byte cancels = CANCELS;   /* cancellations left */
#define ASLEEP_OUT (spurious > 0 || cancels > 0)
#else
#define ASLEEP_OUT (spurious > 0)
#endif
#ifdef DEADLINE
byte deadlines = DEADLINES; /* deadlines that may still pass */
#define TIMEOUT_OK (gone || deadlines > 0)
#else
#define TIMEOUT_OK false
#endif

#ifdef SHARED
byte dead;                /* the killed process's index + 1; 0 while none is */
byte kills = KILLS;       /* kills left */
byte napped;              /* workers whose nap ended since the last commit or close */
#endif

/* ---- ghosts for the checks ---- */
bit ok[NVAL];       /* value v was accepted (push returned it as moved) */
bit got[NVAL];      /* value v was popped (SHARED: its pop committed) */
#ifdef SHARED
bit cmtd[NVAL];     /* value v's push committed (moved[PUSH] counts it) */
#endif
byte next_out[NP];  /* next sequence number expected from producer p */
byte stamp[NVAL];   /* value v in the ring: its place in the push order, from 1 */
#if NB > 0
byte bwant[NB];     /* batch waiter b asleep on BCV: the count it checked for */
#endif

/* unlock(): side_valid() (pcq.c's, plus pending <= 1 and the model's own
 * checks), then mtx[d] let go; the caller must own it. */
inline valid(me, d)
{
    d_step {
    if
    :: d == PUSH ->
        assert(moved[PUSH] >= seen[PUSH] && moved[PUSH] - seen[PUSH] <= ringsz &&
               pos[PUSH] < ringsz && high_water <= ringsz &&
               moved[PUSH] - seen[PUSH] <= high_water)
#ifndef RESIZE
        ; assert(pos[PUSH] == moved[PUSH] % CAP)
#endif
    :: else ->
        assert(seen[POP] >= moved[POP] && pos[POP] < ringsz);
#ifndef RESIZE
        assert(pos[POP] == moved[POP] % CAP);
#endif
        /* every batch waiter counted sleeps, and (model only) each one
         * asleep is covered by batch_need: the least count any of them
         * waits for is registered, or a broadcast woke them all */
        assert(batch_waiters == bsleeping);
#if NB > 0 && !defined(NO_VALID_NEED)
        assert((cvset[BCV] & BIT(NP + NC)) == 0 || batch_need <= bwant[0]);
#endif
#if NB > 1 && !defined(NO_VALID_NEED)
        assert((cvset[BCV] & BIT(NP + NC + 1)) == 0 || batch_need <= bwant[1]);
#endif
        skip
    fi;
    assert(moved[POP] <= moved[PUSH] && moved[PUSH] - moved[POP] <= ringsz);
    assert(pending[d] <= 1);
#ifndef NO_VALID_PENDING
    assert(pending[d] <= waiters[d]);
#endif
    assert(waiters[d] == sleeping[d]);
    assert(mtx[d] == me + 1);
    mtx[d] = 0
    }
}

inline unlock(me, d)
{
    valid(me, d)
}

#ifdef SHARED
/* A robust mutex: free, or held by the dead process (pthread_mutex_lock
 * then returns EOWNERDEAD with the lock taken). */
#define FREE(d) (mtx[d] == 0 || mtx[d] == dead)

/* repair_side(): the dead owner may have been anywhere in a call of side
 * d; its commit point decides. The position from the committed count (the
 * ring never regrows), the copy of the other side's count reloaded, a
 * close half done completed on this side, the push side's high-water mark
 * up to the size, no wake-up on its way (the dead process may have been
 * the one it was sent to). Then pthread_mutex_consistent(). recoveries
 * and the spin tuning are not modelled. */
inline repair(d)
{
#ifndef SHM_NO_REPAIR
    pos[d] = moved[d] % CAP;
    seen[d] = moved[1 - (d)]; /* (d): an inline's argument is pasted as text */
#ifndef SHM_NO_CLOSE_SYNC
    if
    :: closed[1 - (d)] -> closed[d] = true
    :: else -> skip
    fi;
#endif
#ifndef SHM_NO_HW_REPAIR
    if /* a push that died between its commit and raise_high_water() */
    :: (d) == PUSH && moved[PUSH] - seen[PUSH] > high_water -> high_water = moved[PUSH] - seen[PUSH]
    :: else -> skip
    fi;
#endif
    pending[d] = 0
#else
    skip /* broken: pthread_mutex_consistent() alone, the side as the dead left it */
#endif
}

/* lock(): take mtx[d] (FREE(d) held in the step's guard); EOWNERDEAD
 * when the dead process held it. */
inline take(me, d)
{
    if
    :: mtx[d] != 0 && mtx[d] != me + 1 -> repair(d)
    :: else -> skip
    fi;
    mtx[d] = me + 1
}
#else
#define FREE(d) (mtx[d] == 0)
inline take(me, d)
{
    mtx[d] = me + 1
}
#endif

/* look(): side d reads the other side's counter afresh (seq_cst). */
inline look(d)
{
    seen[d] = moved[1 - d]
}

/* Take one member out of a non-empty set of threads, any one. */
inline pick_one(set)
{
    w = 0;
    do
    :: (set & BIT(w)) != 0 -> set = set ^ BIT(w); break
    :: (set >> (w + 1)) != 0 -> w++ /* a member lies further on */
    od;
    w = 0
}

/* pthread_cond_signal: wake one member of the set, any one, if any. */
inline cv_signal(cv)
{
    if
    :: cvset[cv] == 0 -> skip
    :: else -> pick_one(cvset[cv])
    fi
}

#ifdef SHARED
/* wo_signal() of a shared queue: seq_wake(w, 1), the sequence word
 * advanced (under mtx[d]), then FUTEX_WAKE of one sleeper, any one; a wake-up
 * is on its way (`pending`) only if the kernel woke one: a thread between
 * its read of the word and its futex call is woken by the word having
 * moved, and a dead one is in no futex queue. */
inline futex_wake1(d)
{
    wseq[d]++;
    if
    :: fset[d] == 0 ->
#ifdef SHM_PENDING_ALWAYS
        pending[d] = 1 /* broken: as if a condition variable's signal */
#else
        skip
#endif
    :: else -> pending[d] = 1; pick_one(fset[d])
    fi
}
#endif

/* pthread_cond_broadcast: wake every member. */
inline cv_broadcast(cv)
{
    cvset[cv] = 0
}

/* wake_one(): one sleeper of side d (its lock held), unless a wake-up is
 * on its way. */
inline wake_one(d)
{
    if
#ifdef SHARED
    :: pending[d] == 0 && waiters[d] > 0 -> futex_wake1(d)
#else
    :: pending[d] == 0 && waiters[d] > 0 -> pending[d] = 1; cv_signal(CV(d))
#endif
    :: else -> skip
    fi
}

/* wake_batch_locked()'s wake-up, once it is due (the pop side's lock
 * held): no count known any more; every batch waiter looks again. */
inline batch_broadcast()
{
    batch_need = NONE;
#ifdef BATCH_SIGNAL
    cv_signal(BCV) /* broken: one batch waiter, any one */
#else
    cv_broadcast(BCV)
#endif
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

/* ring_put(): k values base+done .. into the ring at the tail; each
 * stamped with its place in the push order (after s0, the count before
 * them). */
inline ring_put(k, s0)
{
    d_step {
    i = 0;
    do
    :: i < k ->
        slot = pos[PUSH] + i;
        if
        :: slot >= ringsz -> slot = slot - ringsz
        :: else -> skip
        fi;
#ifdef SHARED
        /* only a slot a pop has emptied, or one a killed push wrote and
         * never committed */
        assert(ring[slot] == 0 || !cmtd[ring[slot] - 1]);
#else
        assert(ring[slot] == 0); /* only a slot a pop has emptied */
#endif
        ring[slot] = base + done + i;
        stamp[base + done + i - 1] = s0 + i + 1;
        i++
    :: else -> break
    od;
    pos[PUSH] = pos[PUSH] + k;
    if
    :: pos[PUSH] >= ringsz -> pos[PUSH] = pos[PUSH] - ringsz
    :: else -> skip
    fi;
    i = 0;
    slot = 0
    }
}

/* ring_get(): k values from the ring at the head; checks them (ghosts). */
inline ring_get(k)
{
    d_step {
    i = 0;
    do
    :: i < k ->
        slot = pos[POP] + i;
        if
        :: slot >= ringsz -> slot = slot - ringsz
        :: else -> skip
        fi;
        v = ring[slot];
        assert(v != 0);                          /* only a slot a push has filled */
        assert(got[v - 1] == 0);                 /* no duplicate */
        got[v - 1] = 1;
        assert((v - 1) % NV == next_out[(v - 1) / NV]); /* per-producer FIFO */
        next_out[(v - 1) / NV]++;
        assert(stamp[v - 1] == moved[POP] + i + 1); /* FIFO, one piece of the queue */
        stamp[v - 1] = 0;
        ring[slot] = 0;
        i++
    :: else -> break
    od;
    pos[POP] = pos[POP] + k;
    if
    :: pos[POP] >= ringsz -> pos[POP] = pos[POP] - ringsz
    :: else -> skip
    fi;
    i = 0;
    slot = 0;
    v = 0
    }
}

#ifdef SHARED
/* A shared pop's copy (move()'s memcpy): k values at the head into the
 * caller's buffer cp[], the position advanced; nothing leaves the ring
 * until the commit (commit_pop), as a pop killed before it must leave the
 * elements there. */
inline ring_copy(k)
{
    d_step {
    i = 0;
    do
    :: i < k ->
        slot = pos[POP] + i;
        if
        :: slot >= ringsz -> slot = slot - ringsz
        :: else -> skip
        fi;
        v = ring[slot];
        assert(v != 0 && cmtd[v - 1]); /* only a slot a committed push filled */
        cp[i] = v;
        i++
    :: else -> break
    od;
    pos[POP] = pos[POP] + k;
    if
    :: pos[POP] >= ringsz -> pos[POP] = pos[POP] - ringsz
    :: else -> skip
    fi;
    i = 0;
    slot = 0;
    v = 0
    }
}

/* A shared pop's commit, as its store of moved[POP]: the k elements it
 * copied leave the ring now; each must still be the one at the committed
 * head (the copy took the right slots), and is checked as ring_get()
 * checks (no duplicate, FIFO). */
inline commit_pop(k)
{
    d_step {
    i = 0;
    do
    :: i < k ->
        slot = (moved[POP] + i) % ringsz;
        v = cp[i];
        assert(ring[slot] == v);                 /* copied from the committed head */
        assert(got[v - 1] == 0);                 /* no duplicate */
        got[v - 1] = 1;
        assert((v - 1) % NV == next_out[(v - 1) / NV]); /* per-producer FIFO */
        next_out[(v - 1) / NV]++;
        assert(stamp[v - 1] == moved[POP] + i + 1); /* FIFO, one piece of the queue */
        stamp[v - 1] = 0;
        ring[slot] = 0;
        cp[i] = 0;
        i++
    :: else -> break
    od;
    i = 0;
    slot = 0;
    v = 0
    }
}

/* A shared push's commit: the values it copied are in the queue now. */
inline commit_push(k)
{
    d_step {
    i = 0;
    do
    :: i < k -> cmtd[base + done + i - 1] = 1; i++
    :: else -> break
    od;
    i = 0
    }
}
#endif

/*
 * What the caller asked to move: pcq_push (1) or pcq_push_many (2, when
 * the producer has two values left); pcq_pop (1) or pcq_pop_many (max 2,
 * at most what a QUOTA consumer still needs); a batch waiter's max.
 * Chosen at the call's first copy, not at its start: until then no step
 * depends on n (a call that fails or sleeps first does the same whatever
 * it asked for), and choosing late spares the model a copy of each of
 * those states per choice. When the copy shows something, n is chosen
 * before the look that a batch whose copy understates it takes
 * (move_now()); after a look (the copy said 0), a pop_many finding 1 is a
 * pop, as a second look (the C's, for the batch) stands for the first. A
 * pop's n is set to what it took once it moved: nothing after the copy
 * tells the rest apart.
 */
inline choose_n(me, d)
{
    n = 1;
    if
    :: d == PUSH ->
#if BATCH > 1
        if
        :: seq + 2 <= NV -> n = 2 /* pcq_push_many of 2 */
        :: true -> skip           /* pcq_push */
        fi
#else
        skip
#endif
    :: d == POP && bmin > 1 ->
        n = bmax /* pcq_pop_batch(min, max) */
#ifdef QUOTA
        ; n = (n < left -> n : left)
#endif
    :: else ->
#if BATCH > 1
        if
        :: !fresh || avail >= 2 -> n = 2 /* pcq_pop_many, max 2 */
        :: true                          /* pcq_pop */
        fi;
#endif
#ifdef QUOTA
        n = (n < left -> n : left)
#else
        skip
#endif
    fi
}

/*
 * The call returned: the caller's view of it, checked, then the next call
 * or the thread's end. Part of the call's last step: it touches only the
 * thread's own variables and the ghosts and counts that init and the
 * closer read once the threads they join have ended.
 */
inline end_call(me, d)
{
    d_step {
#ifdef ABORT
    /* every call begun after pcq_abort, and every call that returns
     * after it having moved nothing, returns ECANCELED */
    assert(!late || rc == ECANCELED);
    assert(!aborted || done > 0 || rc == ECANCELED);
    late = false;
#endif
    if
    :: d == PUSH ->
        /* The first `done` values are accepted (a cancelled push_many
         * accepted them too: they are in the ring). */
        i = 0;
        do
        :: i < done -> ok[base - 1 + i] = 1; i++
        :: else -> break
        od;
        i = 0;
        seq = seq + done;
        assert(rc == EPIPE || rc == ECANCELED || (rc == 0 && done == n));
        if
        :: rc == EPIPE || rc == ECANCELED || seq == NV -> pc = END; prod_done++; finished++
        :: else -> pc = IDLE
        fi
    :: else ->
        if
        :: rc == EPIPE || rc == ECANCELED -> assert(done == 0); pc = END; finished++
#ifdef DEADLINE
        :: rc == ETIMEDOUT -> assert(done == 0); pc = IDLE /* a batch call's deadline, nothing there */
#endif
        :: else ->
            assert(rc == 0 && done >= 1 && done <= n);
#ifdef QUOTA
            left = left - done;
            if
            :: left == 0 -> pc = END; finished++
            :: else -> pc = IDLE
            fi
#else
            pc = IDLE
#endif
        fi
    fi;
    n = 0;
    done = 0;
    base = 0;
    rc = 0;
    spun = false;
    woken = false
#ifdef DEADLINE
    ; expired = false; slept = false; tmo = false; gone = false
#endif
    }
}

/* After a wake-up of the other side done from outside this side's lock:
 * the batch waiters' (after a push), then the call's end or, mid-batch,
 * the next round of transfer()'s loop. */
inline after_wake(me, d)
{
    if
#if NB > 0
    :: bwake -> pc = BWAKE
#endif
    :: !bwake && mid -> mid = false; pc = MOVE
    :: else -> end_call(me, d)
    fi
}

/* transfer()'s end: unlock, then do what after_move() said (do_after). */
inline finish(me, d)
{
    unlock(me, d);
    if
    :: wake -> pc = WAKE
#if NB > 0
    :: !wake && bwake -> pc = BWAKE
#endif
    :: else -> end_call(me, d)
    fi
}

/* transfer()'s loop after move_now() said EAGAIN (blocking or, for a
 * batch waiter with DEADLINE, timed mode): a timed call whose deadline
 * passed (a batch waiter's call first takes what is there); a push batch
 * that filled the ring wakes the other side first; else spin once; else
 * sleep, a batch waiter on the batch waiters' condition variable when it
 * waits for more than 1. The lock is held. */
inline again(me, d)
{
#ifdef DEADLINE
    if
    :: d == POP && bmin > 1 ->
        if
        :: slept -> dl = tmo                   /* the wait timed out */
        :: !slept && gone -> dl = true
        :: !slept && !gone && deadlines > 0 -> /* the deadline passes now */
            deadlines--; gone = true; dl = true
        :: !slept && !gone -> skip              /* not yet */
        fi
    :: else -> skip
    fi;
    if
    :: dl && !expired -> dl = false; expired = true; pc = MOVE_HELD /* take what is there */
    :: dl && expired -> dl = false; rc = ETIMEDOUT; finish(me, d)
    :: else ->
#endif
    if
    :: wake -> unlock(me, d); pc = MIDWAKE
#if NB > 0
    :: !wake && bwake -> unlock(me, d); mid = true; pc = BWAKE
#endif
    :: !wake && !bwake && !spun -> spun = true; unlock(me, d); pc = MOVE /* spin() */
    :: !wake && !bwake && spun && d == POP && WANT > 1 ->
#ifdef DEADLINE
        slept = true;
#endif
        pc = BANNOUNCE
    :: !wake && !bwake && spun && !(d == POP && WANT > 1) ->
#ifdef DEADLINE
        slept = slept || (d == POP && bmin > 1);
#endif
        pc = ANNOUNCE
    fi
#ifdef DEADLINE
    fi
#endif
}

/* pass_baton()'s end on the pop side, wake_batch_locked(false): batch
 * waiters whose least count is there (a look), or all once closed. */
inline batch_baton(me, d)
{
#if NB > 0
    if
    :: d == POP && batch_waiters > 0 && closed[POP] -> pc = BBRESET /* its store of batch_need */
    :: d == POP && batch_waiters > 0 && !closed[POP] && batch_need != NONE -> pc = BBATON
    :: else -> rc = 0; finish(me, d)
    fi
#else
    rc = 0;
    finish(me, d)
#endif
}

/* move_now()'s end, after needs_wake() (and batch_wake_due()): a
 * complete call passes the baton and returns 0; a push batch with more to
 * go (the ring is full) goes round transfer()'s loop. The lock is held.
 * This runs in a step that made a racy access already (a load of
 * needs_wake or batch_wake_due), so a look for can_go() (BATON),
 * wake_one()'s store of pending (SIGNAL) and wake_batch_locked()'s look
 * (BBATON) are steps of their own. */
/* Only a call that was woken passes the baton (it may hold the side's one
 * wake-up in flight); BATON_ALWAYS: every complete call, as before. */
#ifdef BATON_ALWAYS
#define BATON_DUE true
#else
#define BATON_DUE woken
#endif
inline settle(me, d)
{
    if
    :: d == POP || done == n ->
#ifdef NO_BATON
        rc = 0;
        finish(me, d)
#else
        if
        :: BATON_DUE && pending[d] == 0 && waiters[d] > 0 && !closed[d] && ROOM(d) == 0 ->
            pc = BATON /* can_go() must look */
        :: BATON_DUE && pending[d] == 0 && waiters[d] > 0 && (closed[d] || ROOM(d) > 0) ->
            pc = SIGNAL /* wake_one() */
        :: else -> batch_baton(me, d)
        fi
#endif
    :: else -> again(me, d)
    fi
}

/* After needs_wake(): a push asks batch_wake_due() (when batch waiters
 * exist in this configuration), then settles. */
inline after_needs(me, d)
{
#if NB > 0
    if
    :: d == PUSH -> pc = BSLEEPERS
    :: else -> settle(me, d)
    fi
#else
    settle(me, d)
#endif
}

/* The rest of move() after its store of moved: the high-water mark, then
 * after_move(). */
inline publish_tail(me, d)
{
    done = done + k;
    k = 0;
    if
    :: d == PUSH && moved[PUSH] - seen[PUSH] > high_water -> pc = HWLOOK
    :: else ->
#ifdef NO_FENCE
        after_needs(me, d)
#else
        pc = SLEEPERS
#endif
    fi
}

/* move()'s publish (seq_cst), and what follows it. */
inline publish(me, d)
{
#ifdef SHARED
    if
    :: d == PUSH -> commit_push(k)
    :: else -> commit_pop(k)
    fi;
#endif
    moved[d] = moved[d] + k;
#ifdef SHARED
    napped = 0; /* progress: every sleeper may nap again */
#endif
#ifdef SHM_COMMIT_EARLY
    if
    :: d == PUSH -> pc = LATECOPY /* broken: the copy still to come */
    :: else -> publish_tail(me, d)
    fi
#else
    publish_tail(me, d)
#endif
}

/* move_now() up to move()'s copy (the lock held): the precedence of an
 * aborted queue, a closed push, available() (the copy, then a look if it
 * says 0, or if it shows less than a batch asks: the batch takes all
 * there is), EPIPE or EAGAIN, a batch waiter's count not there, else the
 * copy; and the publish too when no look was taken, as one step has room
 * for one racy access. */
inline move_now(me, d)
{
    if
#ifdef ABORT
    :: aborted -> rc = ECANCELED; finish(me, d)
#endif
    :: !aborted && d == PUSH && closed[d] -> rc = EPIPE; finish(me, d) /* even with room */
    :: else ->
        avail = ROOM(d);
        if
        :: n == 0 && avail > 0 -> choose_n(me, d) /* the call's first copy */
        :: else -> skip
        fi;
        if
        :: avail == 0 || (avail < n - done && n > 1) -> look(d); avail = ROOM(d); fresh = true
        :: else -> skip
        fi;
#ifdef IF_WAIT
        /* broken: after a sleep, trust that the wait's condition holds */
        if
        :: trust && avail == 0 -> avail = 1
        :: else -> skip
        fi;
        trust = false;
#endif
        if
        :: avail == 0 ->
            if
            :: d == POP && closed[d] -> rc = EPIPE; finish(me, d) /* closed and drained */
            :: else -> again(me, d)
            fi
#if NB > 0
        :: avail > 0 && d == POP && avail < WANT && !closed[POP] && !EXPIRED ->
            again(me, d) /* a batch waiter's count is not there yet */
#endif
        :: else ->
            if
            :: n == 0 -> choose_n(me, d) /* the call's first copy, after a look */
            :: else -> skip
            fi;
            k = (avail < n - done -> avail : n - done);
            if
            :: d == PUSH ->
#ifdef SHM_COMMIT_EARLY
                skip /* broken: the copy after the commit (LATECOPY) */
#else
                ring_put(k, moved[PUSH])
#endif
            :: else ->
                /* a pop moves once: one piece; a batch waiter's is at
                 * least its count unless closed or expired */
                assert(done == 0 && (k >= WANT || closed[POP] || EXPIRED));
#ifdef SHARED
                ring_copy(k); /* out of the ring at the commit (PUBLISH) */
#else
                ring_get(k);
#endif
                n = k
            fi;
#if defined(NO_FENCE)
            pc = SLEEPERS /* broken: the load of waiters goes first */
#elif defined(PENDING_EARLY)
            pc = PENDING /* broken: the load of pending goes first */
#elif defined(SHARED)
            pc = PUBLISH /* the commit, a step of its own: a kill may come first */
#else
            if
            :: fresh -> pc = PUBLISH
            :: else -> publish(me, d)
            fi
#endif
        fi;
        avail = 0;
        fresh = false
    fi
}

/* The wait proper: join the set and release the mutex, in one step. */
inline join(me, d)
{
    cvset[CV(d)] = cvset[CV(d)] | BIT(me);
    sleeping[d]++;
    unlock(me, d);
    pc = WOKEN
}

#ifdef SHARED
/* wo_wait() of a shared queue: the sequence word read under the mutex,
 * then the unlock; the futex call is the next step (FWAIT). */
inline fjoin(me, d)
{
    sleeping[d]++;
#ifdef SHM_SEQ_UNLOCKED
    unlock(me, d);
    pc = SEQREAD /* broken: the word read after the unlock */
#else
    myseq = wseq[d];
    unlock(me, d);
    pc = FWAIT
#endif
}
#endif

/* A batch waiter's wait: join the batch waiters' set, release the pop
 * side's mutex. */
inline bjoin(me)
{
    cvset[BCV] = cvset[BCV] | BIT(me);
    bsleeping++;
#if NB > 0
    bwant[me - NP - NC] = WANT;
#endif
    unlock(me, POP);
    pc = BWOKEN
}

/*
 * A thread of side d: calls of xfer_one(), xfer_many() or (bmin > 1)
 * pcq_pop_batch(), blocking (lock, then transfer()), one after another
 * until the thread ends. One option per step (see "Steps" above); pc says
 * which is next. A call moves up to n elements; `done` counts them, `rc`
 * is its status.
 */
inline thread(me, d)
{
    do
    :: atomic { /* lock (a call's, or after spin or a mid-batch wake), move_now() */
        ((pc == IDLE || pc == MOVE) && FREE(d) && SYNC_OK(d)) || pc == MOVE_HELD ->
        assert(pc != MOVE_HELD || mtx[d] == me + 1);
        if
        :: pc == IDLE && d == PUSH -> base = me * NV + seq + 1 /* its values */
        :: else -> skip
        fi;
#ifdef ABORT
        if
        :: pc == IDLE -> late = aborted /* the call begins after pcq_abort */
        :: else -> skip
        fi;
#endif
        take(me, d);
        move_now(me, d)
       }
    :: atomic { /* move(): publish after a look */
        pc == PUBLISH ->
        publish(me, d)
       }
    :: atomic { /* move(): the copy of popped may be stale: look again */
        pc == HWLOOK ->
        look(PUSH);
        if
        :: moved[PUSH] - seen[PUSH] > high_water -> high_water = moved[PUSH] - seen[PUSH]
        :: else -> skip
        fi;
#ifdef NO_FENCE
        after_needs(me, d)
#else
        pc = SLEEPERS
#endif
       }
    :: atomic { /* needs_wake(other side): waiters > 0 (seq_cst) && ... */
        pc == SLEEPERS ->
#ifdef PENDING_EARLY
        if
        :: waiters[1 - d] > 0 && pend -> wake = true
        :: else -> skip
        fi;
        pend = false;
        after_needs(me, d)
#else
        if
        :: waiters[1 - d] > 0 -> pc = PENDING
        :: else ->
#ifdef NO_FENCE
            pc = PUBLISH
#else
            after_needs(me, d)
#endif
        fi
#endif
       }
    :: atomic { /* needs_wake(other side): ... && !pending (seq_cst) */
        pc == PENDING ->
#ifdef PENDING_EARLY
        pend = pending[1 - d] == 0; /* broken: before the publish */
        pc = PUBLISH
#else
        if
        :: pending[1 - d] == 0 -> wake = true
        :: else -> skip
        fi;
#ifdef NO_FENCE
        pc = PUBLISH
#else
        after_needs(me, d)
#endif
#endif
       }
#if NB > 0
    :: atomic { /* batch_wake_due(): batch_waiters > 0 (seq_cst) && ... */
        pc == BSLEEPERS ->
        if
        :: batch_waiters > 0 -> pc = BNEED
        :: else -> settle(me, d)
        fi
       }
    :: atomic { /* batch_wake_due(): ... batch_need (seq_cst) <= pushed - its copy of popped */
        pc == BNEED ->
        if
        :: batch_need != NONE && SIZE_P >= batch_need -> bwake = true
        :: else -> skip
        fi;
        settle(me, d)
       }
#endif
    :: atomic { /* pass_baton(), its can_go() looking afresh */
        pc == BATON ->
        look(d);
        if
        :: ROOM(d) > 0 -> pc = SIGNAL
        :: else -> batch_baton(me, d)
        fi
       }
    :: atomic { /* wake_one(): pass_baton's, or wait_cancelled()'s after a look */
        pc == SIGNAL ->
        wake_one(d);
        if
        :: cancel -> rc = ECANCELED; unlock(me, d); end_call(me, d)
        :: else -> batch_baton(me, d)
        fi
       }
#if NB > 0
    :: atomic { /* pass_baton(): wake_batch_locked(false)'s look */
        pc == BBATON ->
        look(POP);
        if
        :: ROOM(POP) >= batch_need -> pc = BBRESET
        :: else -> rc = 0; finish(me, d)
        fi
       }
    :: atomic { /* pass_baton(): wake_batch_locked(false)'s wake-up */
        pc == BBRESET ->
        batch_broadcast();
        rc = 0;
        finish(me, d)
       }
#endif
#ifndef SIGNAL_UNLOCKED
    :: atomic { /* wake_side(): lock the other side, wake_one, unlock */
        (pc == WAKE || pc == MIDWAKE) && FREE(1 - d) ->
        take(me, 1 - d);
        wake_one(1 - d);
        unlock(me, 1 - d);
        wake = false;
        mid = (pc == MIDWAKE);
        after_wake(me, d)
       }
#else
    :: atomic { /* broken: wake_one's test without the other side's lock */
        pc == WAKE || pc == MIDWAKE ->
        if
        :: pending[1 - d] == 0 && waiters[1 - d] > 0 ->
            if
            :: pc == WAKE -> pc = WAKE_SIG
            :: else -> pc = MIDWAKE_SIG
            fi
        :: else ->
            wake = false;
            if
            :: pc == WAKE -> end_call(me, d)
            :: else -> pc = MOVE
            fi
        fi
       }
    :: atomic { /* broken: and its signal, without the lock either */
        pc == WAKE_SIG || pc == MIDWAKE_SIG ->
        pending[1 - d] = 1;
        cv_signal(CV(1 - d));
        wake = false;
        if
        :: pc == WAKE_SIG -> end_call(me, d)
        :: else -> pc = MOVE
        fi
       }
#endif
#if NB > 0
    :: atomic { /* wake_batch(): lock the pop side, wake_batch_locked(false) */
        pc == BWAKE && FREE(POP) ->
        take(me, POP);
        if
        :: batch_waiters > 0 && closed[POP] ->
            batch_broadcast(); unlock(me, POP); bwake = false; after_wake(me, d)
        :: batch_waiters > 0 && !closed[POP] && batch_need != NONE ->
            look(POP);
            if
            :: ROOM(POP) >= batch_need -> pc = BWRESET
            :: else -> unlock(me, POP); bwake = false; after_wake(me, d)
            fi
        :: else -> unlock(me, POP); bwake = false; after_wake(me, d)
        fi
       }
    :: atomic { /* wake_batch(): its wake-up, then unlock the pop side */
        pc == BWRESET ->
        batch_broadcast();
        unlock(me, POP);
        bwake = false;
        after_wake(me, d)
       }
#endif
    :: atomic { /* sleep_once(): announce, seq_cst */
        pc == ANNOUNCE ->
        waiters[d]++;
        woken = false; /* x->woken: set again only by a wait */
        pc = RECHECK
       }
    :: atomic { /* sleep_once(): re-check (Dekker), then wait */
        pc == RECHECK ->
        if
        :: closed[d] -> pc = UNANNOUNCE
        :: else ->
#ifndef NO_RECHECK
            look(d); /* broken without: the copy is what said "wait" */
#endif
            if
            :: ROOM(d) > 0 -> pc = UNANNOUNCE
            :: else ->
#if defined(SHARED)
                fjoin(me, d)
#elif defined(SIGNAL_UNLOCKED)
                pc = JOIN
#else
                join(me, d)
#endif
            fi
        fi
       }
#ifdef SIGNAL_UNLOCKED
    :: atomic { pc == JOIN -> join(me, d) }
#endif
    :: atomic { /* sleep_once(): it can go after all */
        pc == UNANNOUNCE ->
        waiters[d]--;
        pc = MOVE_HELD
       }
#ifdef SHARED
#ifdef SHM_SEQ_UNLOCKED
    :: atomic { /* broken: the sequence word read without the mutex */
        pc == SEQREAD ->
        myseq = wseq[d];
        pc = FWAIT
       }
#endif
    :: atomic { /* futex_nap(): FUTEX_WAIT_BITSET compares the word and
                 * queues the thread at once (under the kernel's bucket
                 * lock): asleep, or back at once if the word moved */
        pc == FWAIT ->
        if
        :: wseq[d] == myseq -> fset[d] = fset[d] | BIT(me)
        :: else -> skip /* EAGAIN: a wake-up came after the read */
        fi;
        myseq = 0;
        pc = FUTEX
       }
#ifndef SHM_NO_NAP
    :: atomic { /* the nap ends (ETIMEDOUT): only when nothing else can
                 * move; once per sleeper until something moves */
        pc == FUTEX && (fset[d] & BIT(me)) != 0 && (napped & BIT(me)) == 0 && timeout ->
        napped = napped | BIT(me);
        fset[d] = fset[d] & ~BIT(me)
       }
#endif
    :: atomic { /* a spurious return (EINTR) */
        pc == FUTEX && (fset[d] & BIT(me)) != 0 && spurious > 0 ->
        spurious--;
        fset[d] = fset[d] & ~BIT(me)
       }
    :: atomic { /* wo_wait(): out of the futex; lock() again, repairing
                 * after a dead owner; then sleep_once()'s back_from_wait() */
        pc == FUTEX && (fset[d] & BIT(me)) == 0 && FREE(d) ->
        take(me, d);
        sleeping[d]--;
        back_from_wait(d);
        woken = true;
        pc = MOVE_HELD
       }
#ifdef SHM_COMMIT_EARLY
    :: atomic { /* broken: move()'s copy, after its commit */
        pc == LATECOPY ->
        ring_put(k, moved[PUSH] - k);
        publish_tail(me, d)
       }
#endif
    :: atomic { /* SIGKILL: the process dies at this step, holding what it
                 * holds; the kernel drops it from the futex queue; its
                 * announcement (waiters), a lock, a `pending` sent to it
                 * stay. It counts as ended for the owner's joins. */
        kills > 0 && pc != END && KILLABLE ->
        kills--;
        dead = me + 1;
        if
        :: pc == RECHECK || pc == UNANNOUNCE -> sleeping[d]++ /* announced, counted as asleep for good */
        :: else -> skip
        fi;
        fset[d] = fset[d] & ~BIT(me);
        finished++;
        if
        :: d == PUSH -> prod_done++
        :: else -> skip
        fi;
        d_step { /* its locals are gone: one state for every way it died */
        seq = 0; n = 0; done = 0; k = 0; avail = 0; rc = 0; base = 0;
        spun = false; woken = false; wake = false; fresh = false; trust = false; cancel = false;
        bwake = false; mid = false; myseq = 0;
        i = 0;
        do
        :: i < BATCH -> cp[i] = 0; i++
        :: else -> break
        od;
        i = 0
        };
        pc = END
       }
#endif
    :: atomic { /* pthread_cond_wait returns: out of the set, mutex again */
        pc == WOKEN && mtx[d] == 0 && ((cvset[CV(d)] & BIT(me)) == 0 || ASLEEP_OUT) ->
        if
        :: (cvset[CV(d)] & BIT(me)) == 0 -> skip /* signalled or broadcast */
        :: (cvset[CV(d)] & BIT(me)) != 0 && spurious > 0 -> /* a spurious return */
            cvset[CV(d)] = cvset[CV(d)] & ~BIT(me);
            spurious--
#ifdef CANCEL
        :: (cvset[CV(d)] & BIT(me)) != 0 && cancels > 0 -> /* cancelled asleep */
            cvset[CV(d)] = cvset[CV(d)] & ~BIT(me);
            cancels--;
            cancel = true
#endif
        fi;
#ifdef CANCEL
        if
        :: !cancel && cancels > 0 -> cancels--; cancel = true /* cancelled once woken */
        :: true -> skip
        fi;
#endif
        mtx[d] = me + 1;
        sleeping[d]--;
        back_from_wait(d);
        woken = true;
#ifdef IF_WAIT
        trust = true;
#endif
        if
        :: cancel -> pc = CANCELLED
#ifndef NO_PASS_ON
        :: !cancel && bmin > 1 -> pc = PASSON /* a batch caller slept as a plain pop */
#endif
        :: else -> pc = MOVE_HELD
        fi
       }
#if NB > 0
    :: atomic { /* transfer(), after sleep_once() for a batch caller: it may
                 * refuse what is there (its count grew with the capacity)
                 * and have taken the wake-up meant for it: pass it on */
        pc == PASSON ->
        avail = ROOM(POP);
        if
        :: avail > 0 ->
            if
            :: avail < WANT -> wake_one(POP)
            :: else -> skip
            fi;
            pc = MOVE_HELD
        :: else ->
            look(POP); /* available(): its copy said 0 */
            if
            :: ROOM(POP) > 0 && ROOM(POP) < WANT -> pc = PASSWAKE
            :: else -> pc = MOVE_HELD
            fi
        fi;
        avail = 0
       }
    :: atomic { /* transfer(): its wake_one() after the look */
        pc == PASSWAKE ->
        wake_one(POP);
        pc = MOVE_HELD
       }
#endif
#ifdef CANCEL
    :: atomic { /* wait_cancelled(): pass on a wake-up it may have eaten */
        pc == CANCELLED ->
#ifndef NO_CANCEL_BATON
        if
        :: closed[d] || ROOM(d) > 0 -> wake_one(d)
        :: else ->
            look(d);
            if
            :: ROOM(d) > 0 -> pc = SIGNAL /* wake_one() after the look */
            :: else -> skip
            fi
        fi;
#endif
        if
        :: pc == SIGNAL -> skip
        :: else -> rc = ECANCELED; unlock(me, d); end_call(me, d)
        fi
       }
#endif
#if NB > 0
    :: atomic { /* batch_sleep_once(): announce, seq_cst */
        pc == BANNOUNCE ->
        batch_waiters++;
#ifdef BATCH_NO_REGISTER
        pc = BRECHECK /* broken: batch_need is left as it is */
#else
        if
        :: WANT < batch_need -> pc = BREGISTER
        :: else -> pc = BRECHECK
        fi
#endif
       }
    :: atomic { /* batch_sleep_once(): register the count, seq_cst */
        pc == BREGISTER ->
        batch_need = WANT;
        pc = BRECHECK
       }
    :: atomic { /* batch_sleep_once(): re-check (Dekker), then wait */
        pc == BRECHECK ->
        if
        :: closed[POP] -> pc = BUNANNOUNCE
        :: else ->
#ifndef BATCH_NO_RECHECK
            look(POP); /* broken without: the copy is what said "wait" */
#endif
            if
            :: ROOM(POP) >= WANT -> pc = BUNANNOUNCE
            :: else -> bjoin(me)
            fi
        fi
       }
    :: atomic { /* batch_sleep_once(): it can go after all */
        pc == BUNANNOUNCE ->
        batch_waiters--;
#ifdef DEADLINE
        tmo = false;
#endif
        pc = MOVE_HELD
       }
    :: atomic { /* pthread_cond_(timed)wait on the batch waiters' condition variable returns */
        pc == BWOKEN && mtx[POP] == 0 &&
        ((cvset[BCV] & BIT(me)) == 0 || spurious > 0 || TIMEOUT_OK) ->
#ifdef DEADLINE
        tmo = false;
#endif
        if
        :: (cvset[BCV] & BIT(me)) == 0 -> skip /* broadcast (or signalled) */
        :: (cvset[BCV] & BIT(me)) != 0 && spurious > 0 -> /* a spurious return */
            cvset[BCV] = cvset[BCV] & ~BIT(me);
            spurious--
#ifdef DEADLINE
        :: (cvset[BCV] & BIT(me)) != 0 && TIMEOUT_OK -> /* timed out */
            cvset[BCV] = cvset[BCV] & ~BIT(me);
            if
            :: !gone -> deadlines--; gone = true
            :: else -> skip
            fi;
            tmo = true
#endif
        fi;
        mtx[POP] = me + 1;
        bsleeping--;
        batch_waiters--;
        bwant[me - NP - NC] = 0;
        pc = MOVE_HELD
       }
#endif
    :: pc == END -> break
    od
}

/* A producer (side PUSH), a consumer (side POP, bmin 1: pcq_pop and
 * pcq_pop_many) or a batch waiter (side POP, pcq_pop_batch(bmin, bmax)). */
proctype worker(byte me; byte side; byte bmin; byte bmax)
{
    byte pc, seq, n, done, k, avail, rc, base, i, w, slot, v;
    bool spun, wake, fresh, trust, cancel;
    bool woken; /* x->woken: back from a plain wait, not announced again since */
    bool bwake, mid; /* do_after() owes the batch waiters a wake-up; a mid-batch one */
#ifdef PENDING_EARLY
    bool pend; /* the early load of the other side's pending found it clear */
#endif
#ifdef SHARED
    byte myseq;    /* wo_wait(): the sequence word as read under the mutex */
    byte cp[BATCH]; /* a pop's buffer: what it copied, not yet committed */
#endif
#ifdef QUOTA
    byte left = NVAL / (NC + NB); /* a consumer: elements it still has to pop */
#endif
#ifdef DEADLINE
    bool expired, slept, tmo, gone, dl; /* x->expired, slept, timed_out; the deadline passed */
#endif
#ifdef ABORT
    bool late; /* this call began after pcq_abort */
#endif

    thread(me, side)
}

/* One side in shut_locked(): closed; wake every waiter; a wake-up is on
 * its way. */
inline close_side(d)
{
    closed[d] = true;
#ifdef SHARED
    napped = 0;
#endif
    if
    :: waiters[d] > 0 ->
#ifdef SHARED
        /* wake_all_locked(): wo_broadcast; pending only if it woke one */
        wseq[d]++;
        if
        :: fset[d] != 0 -> pending[d] = 1; fset[d] = 0
        :: else -> skip
        fi
#else
        pending[d] = 1;
#ifdef CLOSE_SIGNAL
        cv_signal(CV(d)) /* broken: one wake-up per side */
#else
        cv_broadcast(CV(d))
#endif
#endif
    :: else -> skip
    fi
}

/* pcq_close() (pcq_abort() with ABORT), called by the owner once the
 * producers are joined (or at any time with CLOSE_RACE or ABORT). Both
 * locks, push side first (the one order); if the pop side's is taken, the
 * step pauses holding the push side's. shut_locked(): both sides closed
 * (and aborted), each side's waiters woken, then wake_batch_locked(false),
 * which wakes every batch waiter on a closed queue. */
proctype closer()
{
    byte w;

#if defined(SHARED)
    /* joining the producers (a dead one too), then waiting for pcq_size()
     * to read 0: a survivor asleep beside an element is then a hang */
    prod_done == NP && moved[PUSH] == moved[POP];
#elif defined(QUOTA)
    finished == NW; /* joining the producers and the consumers */
#elif !defined(CLOSE_RACE) && !defined(ABORT)
    prod_done == NP; /* joining the producers */
#endif
    atomic {
        FREE(PUSH) -> take(CLOSER, PUSH);
        FREE(POP) -> take(CLOSER, POP);
#ifdef ABORT
        aborted = true;
#endif
        /* Every waiter must see the close: broadcast, never signal. */
        close_side(PUSH);
#ifdef KILL_CLOSER
        if
        :: kills > 0 -> /* killed holding both locks, the pop side still open */
            kills--;
            dead = CLOSER + 1;
            others++;
            goto killed
        :: true -> skip
        fi;
#endif
        close_side(POP);
#ifndef ABORT_NO_BROADCAST
        if
        :: batch_waiters > 0 -> batch_broadcast()
        :: else -> skip
        fi;
#endif
        unlock(CLOSER, POP);
        unlock(CLOSER, PUSH);
        others++ /* after the unlocks: init then finds the mutexes free */
    }
#ifdef KILL_CLOSER
killed:
    skip
#endif
}

#ifdef RESIZE
/* regrow(): the live elements, in order, to the start of a ring of c
 * slots; the head at 0, the tail after them. */
inline regrow(c)
{
    d_step {
    sz = moved[PUSH] - moved[POP];
    t = 0;
    do
    :: t < sz ->
        slot = pos[POP] + t;
        if
        :: slot >= ringsz -> slot = slot - ringsz
        :: else -> skip
        fi;
        tmp[t] = ring[slot];
        t++
    :: else -> break
    od;
    t = 0;
    do
    :: t < RINGMAX ->
        if
        :: t < sz -> ring[t] = tmp[t]
        :: else -> ring[t] = 0
        fi;
        tmp[t] = 0;
        t++
    :: else -> break
    od;
    pos[POP] = 0;
    pos[PUSH] = sz;
    ringsz = c;
    t = 0;
    sz = 0;
    slot = 0
    }
}

/* pcq_set_capacity(c): both locks (as the closer takes them); a grow past
 * the ring regrows it; the capacity; the producers' waiters broadcast; the
 * batch waiters woken whatever their count (it changes with the
 * capacity). */
inline set_capacity(c)
{
    atomic {
        mtx[PUSH] == 0 -> mtx[PUSH] = RESIZER + 1;
        mtx[POP] == 0 -> mtx[POP] = RESIZER + 1;
        if
        :: c > ringsz -> regrow(c)
        :: else -> skip
        fi;
        cap = c;
#ifndef RESIZE_NO_WAKE
        if
        :: waiters[PUSH] > 0 -> pending[PUSH] = 1; cv_broadcast(CV(PUSH))
        :: else -> skip
        fi;
#endif
#ifndef RESIZE_NO_POP_WAKE
        if
        :: waiters[POP] > 0 -> pending[POP] = 1; cv_broadcast(CV(POP))
        :: else -> skip
        fi;
#endif
        if
        :: batch_waiters > 0 -> batch_broadcast() /* wake_batch_locked(true) */
        :: else -> skip
        fi;
        unlock(RESIZER, POP);
        unlock(RESIZER, PUSH)
    }
}

/* The resizer: pcq_set_capacity(RS1), then (RS2), at any moment. */
proctype resizer()
{
    byte t, sz, slot, w;
    byte tmp[RINGMAX];

    set_capacity(RS1);
    set_capacity(RS2);
    others++
}
#endif

init
{
    byte t, accepted, drained, k, i, slot, v;

    atomic {
        t = 0;
        do
        :: t < NP -> run worker(t, PUSH, 0, 0); t++
        :: else -> break
        od;
        t = 0;
        do
        :: t < NC -> run worker(NP + t, POP, 1, 1); t++
        :: else -> break
        od;
#if NB > 0
        run worker(NP + NC, POP, BMIN, BMAX);
#endif
#if NB > 1
        run worker(NP + NC + 1, POP, BMIN2, BMAX2);
#endif
        run closer();
#ifdef RESIZE
        run resizer();
#endif
        t = 0
    };
    finished == NW && others == NOTHERS; /* all ended: none is stuck */

    /* pcq_drain(): the owner takes what is left (after pcq_abort, or when
     * no consumer ran); everything else the consumers popped. */
    assert(FREE(PUSH) && FREE(POP)); /* SHARED: or held by the dead process */
    k = moved[PUSH] - moved[POP];
#if !defined(ABORT) && NC + NB > 0
    assert(k == 0);
#endif
    ring_get(k);
    moved[POP] = moved[POP] + k;

    /* No lost, no extra element: popped exactly the accepted values. */
    assert(moved[PUSH] == moved[POP]);
#ifdef SHARED
    /* a dead process's announcement stays, and a wake-up sent to it */
    assert(waiters[PUSH] == sleeping[PUSH] && waiters[POP] == sleeping[POP] &&
           waiters[PUSH] + waiters[POP] <= KILLS && batch_waiters == 0);
    assert(pending[PUSH] <= waiters[PUSH] && pending[POP] <= waiters[POP]);
    do
    :: t < NVAL ->
        /* every value whose push returned was popped, once (commit_pop
         * checks it came out once); no value whose push did not commit
         * was; every producer but a dead one had all its pushes return */
        assert(got[t] >= ok[t] && got[t] <= cmtd[t]);
        assert(ok[t] || (dead > 0 && dead <= NP && t / NV == dead - 1));
        accepted = accepted + cmtd[t];
        drained = drained + got[t];
        t++
    :: else -> break
    od;
    assert(accepted == moved[PUSH] && drained == moved[POP]);
#else
    assert(waiters[PUSH] == 0 && waiters[POP] == 0 && batch_waiters == 0);
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
    assert(drained == accepted && drained == moved[POP]);
#if !defined(CLOSE_RACE) && !defined(CANCEL) && !defined(ABORT)
    assert(accepted == NVAL); /* closed after the producers: all went in */
#endif
#endif
}
