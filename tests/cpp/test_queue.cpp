// test_queue.cpp — tests of include/pcq.hpp (pcq::queue<T>), built by
// `make test-cpp` with g++ and clang++, under ASan+UBSan and TSan, and as
// C++20 (the std::span overloads). A plain program: each CHECK counts; the
// first failure prints its line and the run goes on; exit 1 if any failed.
// Threads are ordered with joins and the queue itself, never with sleeps;
// the timing checks only bound a wait from below (or very loosely above).
#include <pcq.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <thread>
#include <vector>

static std::atomic<int> checks, failures; // counted from several threads

#define CHECK(cond)                                                                     \
    do {                                                                                \
        ++checks;                                                                       \
        if (!(cond)) {                                                                  \
            ++failures;                                                                 \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                               \
    } while (0)

// CHECK_THROWS(expr, code): expr throws std::system_error with that code.
#define CHECK_THROWS(expr, want)                                                        \
    do {                                                                                \
        int got_ = -1;                                                                  \
        try {                                                                           \
            (void)(expr);                                                               \
        } catch (const std::system_error &e) {                                          \
            got_ = e.code().value();                                                    \
            CHECK(e.code().category() == std::generic_category());                      \
        }                                                                               \
        CHECK(got_ == (want));                                                          \
    } while (0)

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

// Trivially copyable, not default-constructible: pop must not need T().
struct point {
    point(int x_, int y_) : x(x_), y(y_) {}
    int x, y;
};
static_assert(std::is_trivially_copyable_v<point> && !std::is_default_constructible_v<point>);

static void test_create()
{
    CHECK_THROWS(pcq::queue<int>(0), EINVAL);
    CHECK_THROWS(pcq::queue<std::uint64_t>(std::numeric_limits<std::size_t>::max()), EOVERFLOW);
    pcq::queue<int> q(3);
    CHECK(q.capacity() == 3);
    CHECK(q.size() == 0);
    CHECK(!q.is_closed());
    CHECK(q.native_handle() != nullptr);
    CHECK(pcq_elem_size(q.native_handle()) == sizeof(int));
}

static void test_push_pop()
{
    pcq::queue<int> q(3);
    CHECK(q.push(1) && q.push(2) && q.try_push(3));
    CHECK(!q.try_push(4)); // exactly capacity
    CHECK(q.size() == 3);
    CHECK(q.pop() == 1);
    CHECK(q.try_pop() == 2);
    CHECK(q.pop() == 3);
    CHECK(!q.try_pop().has_value()); // empty
    CHECK(!q.is_closed());

    pcq::queue<point> pq(2);
    CHECK(pq.push(point(3, 4)));
    auto p = pq.pop();
    CHECK(p && p->x == 3 && p->y == 4);

    pcq_stats_t s = q.stats();
    CHECK(s.pushed == 3 && s.popped == 3 && s.high_water == 3);
}

static void test_close()
{
    pcq::queue<int> q(4);
    CHECK(q.push(7) && q.push(8));
    q.close();
    q.close(); // idempotent
    CHECK(q.is_closed());
    CHECK(!q.push(9));
    CHECK(!q.try_push(9));
    CHECK(!q.push_for(9, 1ms));
    CHECK(q.pop() == 7); // drains
    CHECK(q.pop_for(1h) == 8);
    CHECK(!q.pop().has_value());
    CHECK(!q.pop_until(clk::now() + 1h).has_value());
    int buf[4];
    CHECK(q.pop_many(buf, 4) == 0);
    CHECK(q.push_many(buf, 4) == 0);

    // A consumer blocked in pop() is woken by close().
    pcq::queue<int> r(1);
    std::thread t([&] { CHECK(!r.pop().has_value()); });
    r.close();
    t.join();
}

static void test_timed()
{
    pcq::queue<int> q(1);
    auto t0 = clk::now();
    CHECK(!q.pop_for(20ms).has_value());
    CHECK(clk::now() - t0 >= 20ms);
    CHECK(!q.pop_for(-5s).has_value());           // negative: a try
    CHECK(!q.pop_for(std::chrono::duration<double>(0.001)).has_value());
    CHECK(!q.pop_until(clk::now() - 1s).has_value()); // past: a try
    CHECK(!q.pop_until(clk::time_point{}).has_value()); // the epoch
    t0 = clk::now();
    CHECK(!q.pop_until(t0 + 20ms).has_value());
    CHECK(clk::now() - t0 >= 20ms);

    CHECK(q.push_for(1, 0ns));
    t0 = clk::now();
    CHECK(!q.push_for(2, 20ms)); // full
    CHECK(clk::now() - t0 >= 20ms);
    CHECK(!q.push_until(2, clk::now() + 20ms));
    CHECK(!q.is_closed()); // timed out, not closed
    CHECK(q.pop_for(0s) == 1);

    // The longest durations do not overflow on the way to nanoseconds.
    std::thread t([&] { CHECK(q.push(5)); });
    CHECK(q.pop_for(std::chrono::hours::max()) == 5);
    t.join();
    std::thread u([&] { CHECK(q.push(6)); });
    CHECK(q.pop_for(std::chrono::duration<double, std::ratio<86400>>(1e30)) == 6);
    u.join();
    std::thread v([&] { CHECK(q.push_until(7, clk::time_point::max())); });
    CHECK(q.pop_until(clk::time_point::max()) == 7);
    v.join();
    CHECK(pcq::detail::timeout_ns(std::chrono::duration<double, std::nano>(1.5)) == 2);
    CHECK(pcq::detail::timeout_ns(std::chrono::seconds::max()) == UINT64_MAX);

#if PCQ_STEADY_IS_MONOTONIC
    // The platform says steady_clock is CLOCK_MONOTONIC: check it is.
    timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    auto now = clk::now().time_since_epoch();
    clock_gettime(CLOCK_MONOTONIC, &b);
    auto ns = [](const timespec &ts) {
        return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    };
    CHECK(ns(a) <= now && now <= ns(b));
#endif
}

static void test_batch()
{
    pcq::queue<int> q(8);
    int in[5] = {1, 2, 3, 4, 5}, out[8] = {};
    CHECK(q.push_many(in, 5) == 5);
    CHECK(q.try_push_many(in, 5) == 3); // room for 3
    CHECK(q.try_push_many(in, 5) == 0); // full
    CHECK(q.pop_many(out, 2) == 2 && out[0] == 1 && out[1] == 2);
    CHECK(q.try_pop_many(out, 8) == 6 && out[0] == 3 && out[5] == 3);
    CHECK(q.try_pop_many(out, 8) == 0); // empty
    CHECK(q.push_many(in, 0) == 0 && q.pop_many(out, 0) == 0);

    // push_many cut short by close: returns how many went in.
    pcq::queue<int> r(2);
    std::vector<int> big(10, 1);
    std::size_t went = 99;
    std::thread t([&] { went = r.push_many(big.data(), big.size()); });
    while (r.size() < 2) // full: the pusher then blocks for room
        std::this_thread::yield();
    r.close();
    t.join();
    CHECK(went == 2);
    CHECK(r.pop_many(out, 8) == 2 && r.pop_many(out, 8) == 0);

#if defined(__cpp_lib_span) && __cpp_lib_span >= 202002L
    std::vector<int> v{9, 8, 7};
    CHECK(q.push_many(std::span<const int>(v)) == 3);
    std::vector<int> w(4);
    CHECK(q.pop_many(std::span<int>(w)) == 3 && w[0] == 9 && w[2] == 7);
    CHECK(q.try_push_many(std::span<const int>(v)) == 3);
    CHECK(q.try_pop_many(std::span<int>(w)) == 3);
    std::printf("test_queue: C++20 std::span overloads tested\n");
#endif
}

static void test_move()
{
    pcq::queue<int> a(2);
    CHECK(a.push(1));
    pcq::queue<int> b(std::move(a));
    CHECK(b.pop() == 1);
    CHECK(a.native_handle() == nullptr);
    // A moved-from queue: calls are misuse (EINVAL), inspection gives zeros.
    CHECK_THROWS(a.push(1), EINVAL);
    CHECK_THROWS(a.pop(), EINVAL);
    CHECK_THROWS(a.try_pop(), EINVAL);
    CHECK_THROWS(a.pop_for(1ms), EINVAL);
    CHECK_THROWS(a.push_many(nullptr, 0), EINVAL);
    CHECK(a.size() == 0 && a.capacity() == 0 && !a.is_closed());
    a.close(); // no-op

    pcq::queue<int> c(5);
    CHECK(b.push(2));
    c = std::move(b); // c's own queue is freed (ASan checks)
    CHECK(c.capacity() == 2 && c.pop() == 2);
    a = std::move(c);
    CHECK(a.capacity() == 2);
    static_assert(!std::is_copy_constructible_v<pcq::queue<int>>);
    static_assert(!std::is_copy_assignable_v<pcq::queue<int>>);
    static_assert(std::is_nothrow_move_constructible_v<pcq::queue<int>>);
    static_assert(std::is_nothrow_move_assignable_v<pcq::queue<int>>);
}

// P producers and C consumers with every kind of call; every element comes
// out exactly once (sum and count). Size from PCQ_STRESS (percent).
static void test_threads()
{
    const char *env = std::getenv("PCQ_STRESS");
    const long pct = env ? std::atol(env) : 100;
    const std::uint64_t per = std::uint64_t(20000 * (pct > 0 ? pct : 1) / 100) + 10;
    const unsigned P = 3, C = 3;
    pcq::queue<std::uint64_t> q(8);
    std::atomic<std::uint64_t> sum{0}, count{0};
    std::atomic<unsigned> live{P};
    std::vector<std::thread> ts;
    for (unsigned p = 0; p < P; p++)
        ts.emplace_back([&, p] {
            std::uint64_t batch[4];
            for (std::uint64_t i = 1; i <= per;) {
                std::uint64_t v = p * per + i;
                switch (i % 4) {
                case 0: CHECK(q.push(v)); i++; break;
                case 1: if (q.try_push(v)) i++; break;
                case 2: if (q.push_for(v, 1ms)) i++; break;
                default: {
                    std::size_t n = 0;
                    while (n < 4 && i + n <= per && (i + n) % 4 != 0)
                        batch[n] = p * per + i + n, n++;
                    CHECK(q.push_many(batch, n) == n);
                    i += n;
                }
                }
            }
            if (--live == 0)
                q.close(); // the last producer out closes
        });
    for (unsigned c = 0; c < C; c++)
        ts.emplace_back([&, c] {
            std::uint64_t s = 0, n = 0, buf[5];
            for (;;) {
                if (c == 0) {
                    auto v = q.pop();
                    if (!v) break;
                    s += *v, n++;
                } else if (c == 1) {
                    auto v = q.pop_for(2ms);
                    if (v) s += *v, n++;
                    else if (q.is_closed() && q.size() == 0) break;
                } else {
                    std::size_t k = q.pop_many(buf, 5);
                    if (k == 0) break;
                    for (std::size_t j = 0; j < k; j++)
                        s += buf[j];
                    n += k;
                }
            }
            sum += s;
            count += n;
        });
    for (auto &t : ts)
        t.join();
    const std::uint64_t N = P * per;
    CHECK(count == N);
    CHECK(sum == N * (N + 1) / 2);
    pcq_stats_t st = q.stats();
    CHECK(st.pushed == N && st.popped == N);
}

int main()
{
    test_create();
    test_push_pop();
    test_close();
    test_timed();
    test_batch();
    test_move();
    test_threads();
#if defined(__clang__)
    const char *cxx = "clang++";
#elif defined(__GNUC__)
    const char *cxx = "g++";
#else
    const char *cxx = "c++";
#endif
#if defined(__SANITIZE_THREAD__)
    const char *san = ", TSan";
#elif defined(__SANITIZE_ADDRESS__)
    const char *san = ", ASan+UBSan";
#else
    const char *san = "";
#endif
    std::printf("test_queue (%s, C++%ld%s): %d checks, %d failed\n", cxx,
                (long)(__cplusplus / 100 % 100), san, checks.load(), failures.load());
    return failures ? 1 : 0;
}
