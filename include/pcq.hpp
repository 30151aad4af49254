/*
 * pcq.hpp — a header-only C++17 face for pcq (include/pcq.h).
 *
 * pcq::queue<T> owns one pcq_t holding elements of type T and forwards
 * every call to the C API: there is no second implementation, and every
 * promise of pcq.h (blocking, FIFO order, close, thread safety, timed
 * calls on CLOCK_MONOTONIC, no allocation in push and pop) holds as
 * written there. Link with libpcq as a C program does.
 *
 * Results: closed and timed-out are ordinary outcomes, not exceptions.
 * A push reports false and a pop an empty optional; is_closed() tells a
 * closed queue from a full or empty one. An exception (std::system_error
 * with the C code, category std::generic_category()) means misuse or a
 * resource failure: pcq_create's EINVAL, ENOMEM or EOVERFLOW, or any call
 * on a moved-from queue (EINVAL).
 *
 * Thread safety: as pcq.h. Every member but the constructors, the
 * destructor and the assignment may be called concurrently on one queue.
 *
 * T must be trivially copyable: elements are copied as bytes (memcpy) in
 * and out of the ring, so a type that owns a resource (std::string,
 * std::unique_ptr) would be duplicated or leaked. Pass an index, a raw
 * pointer whose ownership you manage, or a plain struct instead.
 */
#ifndef PCQ_HPP
#define PCQ_HPP

#include "pcq.h"

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <ratio>
#include <system_error>
#include <type_traits>
#include <utility>
#if __cplusplus >= 202002L && __has_include(<span>)
#include <span>
#endif

/*
 * pcq's deadlines are on CLOCK_MONOTONIC. Where the standard library says
 * std::chrono::steady_clock reads that same clock, a steady_clock
 * time_point converts to a pcq deadline directly (and the tests check the
 * two clocks agree); elsewhere the _until calls wait for the time left
 * until the time point, measured once on entry.
 */
#if defined(__GLIBCXX__) && defined(_GLIBCXX_USE_CLOCK_MONOTONIC)
#define PCQ_STEADY_IS_MONOTONIC 1
#elif defined(_LIBCPP_VERSION) && defined(__linux__) && !defined(_LIBCPP_HAS_NO_MONOTONIC_CLOCK)
#define PCQ_STEADY_IS_MONOTONIC 1
#else
#define PCQ_STEADY_IS_MONOTONIC 0
#endif

namespace pcq {

namespace detail {

[[noreturn]] inline void fail(int rc, const char *what)
{
    throw std::system_error(rc, std::generic_category(), what);
}

/* A duration as pcq's timeout in nanoseconds: negative is 0, beyond
 * UINT64_MAX is UINT64_MAX, a fraction of a nanosecond rounds up. Goes
 * through long double so that no duration type can overflow on the way. */
template <class Rep, class Period>
std::uint64_t timeout_ns(std::chrono::duration<Rep, Period> d)
{
    const long double ns = std::chrono::duration<long double, std::nano>(d).count();
    if (!(ns > 0)) /* also NaN */
        return 0;
    if (ns >= 18446744073709551615.0L)
        return UINT64_MAX;
    const auto whole = static_cast<std::uint64_t>(ns);
    return static_cast<long double>(whole) < ns ? whole + 1 : whole;
}

#if PCQ_STEADY_IS_MONOTONIC
/* A steady_clock time point as an absolute CLOCK_MONOTONIC deadline; a time
 * point before the clock's epoch is the epoch (long past). */
inline timespec deadline(std::chrono::steady_clock::time_point tp)
{
    using namespace std::chrono;
    const auto ns = duration_cast<nanoseconds>(tp.time_since_epoch()).count();
    timespec ts{};
    if (ns > 0) {
        ts.tv_sec = static_cast<time_t>(ns / 1000000000);
        ts.tv_nsec = static_cast<long>(ns % 1000000000);
    }
    return ts;
}
#endif

} // namespace detail

template <class T> class queue {
    static_assert(std::is_trivially_copyable_v<T>,
                  "pcq::queue<T>: T must be trivially copyable, because pcq copies "
                  "elements in and out as raw bytes (memcpy) and never runs a "
                  "constructor or destructor; queue an index, a plain struct or a raw "
                  "pointer whose ownership you pass by hand instead");
    static_assert(!std::is_const_v<T> && !std::is_volatile_v<T>,
                  "pcq::queue<T>: T must not be const or volatile");

public:
    using value_type = T;

    /* A queue of at most `capacity` elements. Throws std::system_error:
     * EINVAL (capacity 0), EOVERFLOW (capacity * sizeof(T) too large),
     * ENOMEM. */
    explicit queue(std::size_t capacity)
    {
        if (int rc = pcq_create(&q_, capacity, sizeof(T)); rc != 0)
            detail::fail(rc, "pcq_create");
    }

    /* Move-only: the queue is the one owner of its pcq_t. A moved-from
     * queue holds none; calls on it throw EINVAL (close, is_closed, size,
     * capacity and stats are no-ops or zeros, as pcq.h's NULL rules). */
    queue(const queue &) = delete;
    queue &operator=(const queue &) = delete;
    queue(queue &&other) noexcept : q_(std::exchange(other.q_, nullptr)) {}
    queue &operator=(queue &&other) noexcept
    {
        if (this != &other) {
            pcq_destroy(q_);
            q_ = std::exchange(other.q_, nullptr);
        }
        return *this;
    }

    /* Frees the queue and the elements in it. As pcq_destroy: no thread
     * may still be using it. */
    ~queue() { pcq_destroy(q_); }

    /* Blocks while full. true: pushed; false: the queue is closed. */
    bool push(const T &v) { return pushed(pcq_push(q_, &v), "pcq_push"); }

    /* Blocks while empty and open. An element, or nullopt once the queue
     * is closed and drained. */
    std::optional<T> pop()
    {
        return popped([this](void *out) { return pcq_pop(q_, out); }, "pcq_pop");
    }

    /* Never blocks. false: full or closed (is_closed() tells which). */
    bool try_push(const T &v) { return pushed(pcq_try_push(q_, &v), "pcq_try_push"); }

    /* Never blocks. nullopt: empty, or closed and drained. */
    std::optional<T> try_pop()
    {
        return popped([this](void *out) { return pcq_try_pop(q_, out); }, "pcq_try_pop");
    }

    /* Timed: blocks while full (or empty) for at most `timeout`. false or
     * nullopt: the time ran out, or the queue is closed (and drained). */
    template <class Rep, class Period>
    bool push_for(const T &v, std::chrono::duration<Rep, Period> timeout)
    {
        return pushed(pcq_push_for(q_, &v, detail::timeout_ns(timeout)), "pcq_push_for");
    }

    template <class Rep, class Period>
    std::optional<T> pop_for(std::chrono::duration<Rep, Period> timeout)
    {
        const std::uint64_t ns = detail::timeout_ns(timeout);
        return popped([this, ns](void *out) { return pcq_pop_for(q_, out, ns); },
                      "pcq_pop_for");
    }

    /* As push_for / pop_for, until a steady_clock time point. */
    bool push_until(const T &v, std::chrono::steady_clock::time_point tp)
    {
#if PCQ_STEADY_IS_MONOTONIC
        const timespec ts = detail::deadline(tp);
        return pushed(pcq_push_until(q_, &v, &ts), "pcq_push_until");
#else
        return push_for(v, tp - std::chrono::steady_clock::now());
#endif
    }

    std::optional<T> pop_until(std::chrono::steady_clock::time_point tp)
    {
#if PCQ_STEADY_IS_MONOTONIC
        const timespec ts = detail::deadline(tp);
        return popped([this, &ts](void *out) { return pcq_pop_until(q_, out, &ts); },
                      "pcq_pop_until");
#else
        return pop_for(tp - std::chrono::steady_clock::now());
#endif
    }

    /* Push all n, blocking while full. Returns how many went in: n, or
     * fewer when the queue was closed meanwhile (those are delivered). */
    std::size_t push_many(const T *elems, std::size_t n)
    {
        return many(pcq_push_many, elems, n, "pcq_push_many");
    }

    /* Pop between 1 and max, blocking while empty and open. 0: closed and
     * drained (or max == 0). */
    std::size_t pop_many(T *out, std::size_t max)
    {
        return many(pcq_pop_many, out, max, "pcq_pop_many");
    }

    /* Never block: as many as fit (or are there) now; 0 when none could
     * move (full, empty, or closed). */
    std::size_t try_push_many(const T *elems, std::size_t n)
    {
        return many(pcq_try_push_many, elems, n, "pcq_try_push_many");
    }

    std::size_t try_pop_many(T *out, std::size_t max)
    {
        return many(pcq_try_pop_many, out, max, "pcq_try_pop_many");
    }

#if defined(__cpp_lib_span) && __cpp_lib_span >= 202002L
    std::size_t push_many(std::span<const T> elems) { return push_many(elems.data(), elems.size()); }
    std::size_t pop_many(std::span<T> out) { return pop_many(out.data(), out.size()); }
    std::size_t try_push_many(std::span<const T> elems)
    {
        return try_push_many(elems.data(), elems.size());
    }
    std::size_t try_pop_many(std::span<T> out) { return try_pop_many(out.data(), out.size()); }
#endif

    /* Every later push fails; pops drain what is left. Wakes every blocked
     * thread. Idempotent. */
    void close() noexcept { pcq_close(q_); }
    bool is_closed() const noexcept { return pcq_is_closed(q_); }
    std::size_t size() const noexcept { return pcq_size(q_); }
    std::size_t capacity() const noexcept { return pcq_capacity(q_); }
    pcq_stats_t stats() const noexcept
    {
        pcq_stats_t s;
        pcq_stats(q_, &s);
        return s;
    }

    /* The C queue, for calls this class does not wrap (pcq_run). Still
     * owned by this object. */
    pcq_t *native_handle() noexcept { return q_; }

private:
    pcq_t *q_ = nullptr;

    static bool pushed(int rc, const char *what)
    {
        if (rc == 0)
            return true;
        if (rc == EPIPE || rc == EAGAIN || rc == ETIMEDOUT)
            return false;
        detail::fail(rc, what);
    }

    /* A batch call: how many moved. Closed and full/empty are results. */
    template <class Fn, class Ptr>
    std::size_t many(Fn fn, Ptr elems, std::size_t n, const char *what)
    {
        std::size_t done = 0;
        const int rc = fn(q_, elems, n, &done);
        if (rc != 0 && rc != EPIPE && rc != EAGAIN)
            detail::fail(rc, what);
        return done;
    }

    /* Pops into raw storage: T need not be default-constructible. A
     * trivially copyable T's bytes, copied in by pcq, are a T. */
    template <class Pop> static std::optional<T> popped(Pop pop, const char *what)
    {
        alignas(T) unsigned char buf[sizeof(T)];
        const int rc = pop(static_cast<void *>(buf));
        if (rc == 0)
            return *std::launder(reinterpret_cast<T *>(buf));
        if (rc == EPIPE || rc == EAGAIN || rc == ETIMEDOUT)
            return std::nullopt;
        detail::fail(rc, what);
    }
};

} // namespace pcq

#endif /* PCQ_HPP */
