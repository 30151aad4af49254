// adapters/boost.cpp — Boost.Thread's boost::concurrent::sync_bounded_queue
// (libboost-thread-dev), the bounded blocking queue a C++ programmer reaches
// for: one mutex, two condition variables, notifying only when a waiter is
// counted. Used as its documentation shows, with Boost.Thread's defaults
// (interruption points included); BOOST_THREAD_VERSION 4 is the API level
// the concurrent queues are written against. wait_push_back and
// wait_pull_front report a closed queue as a status; the exception a push
// blocked across a close would throw is caught here, so none reaches C.
#define BOOST_THREAD_VERSION 4
#include <boost/thread/concurrent_queues/sync_bounded_queue.hpp>

#include <cerrno>
#include <new>

#include "boost.h"

struct bq_boost_queue {
    explicit bq_boost_queue(std::size_t capacity) : q(capacity) {}
    boost::concurrent::sync_bounded_queue<void *> q;
};

extern "C" int bq_boost_create(bq_boost_queue **out, std::size_t capacity)
{
    try {
        *out = new bq_boost_queue(capacity);
        return 0;
    } catch (const std::bad_alloc &) {
        return ENOMEM;
    }
}

extern "C" void bq_boost_destroy(bq_boost_queue *q) { delete q; }

extern "C" void bq_boost_close(bq_boost_queue *q) { q->q.close(); }

extern "C" int bq_boost_push(bq_boost_queue *q, void *word)
{
    try {
        return q->q.wait_push_back(word) == boost::concurrent::queue_op_status::success ? 0
                                                                                          : EPIPE;
    } catch (const boost::sync_queue_is_closed &) {
        return EPIPE;
    }
}

extern "C" int bq_boost_pop(bq_boost_queue *q, void **word)
{
    return q->q.wait_pull_front(*word) == boost::concurrent::queue_op_status::success ? 0 : EPIPE;
}
