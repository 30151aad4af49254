// not_trivially_copyable.cpp — must NOT compile: pcq::queue<T> needs a
// trivially copyable T. `make test-cpp` checks that the compiler refuses it
// and that its message says why; with -DPCQ_CONTROL (an int queue) the same
// file must compile, so the refusal cannot come from anything else.
#include <pcq.hpp>

#include <memory>

#ifdef PCQ_CONTROL
using elem = int;
#else
using elem = std::unique_ptr<int>;
#endif

int main()
{
    pcq::queue<elem> q(4);
    return q.capacity() == 4 ? 0 : 1;
}
