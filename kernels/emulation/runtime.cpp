// runtime.cpp: the scheduler behind cuda_emulation.h. One fiber per CUDA thread of a block,
// switched by a few instructions of assembly on x86-64 (ucontext elsewhere); blocks run one
// after another on the launching OS thread. Errors (a deadlocked barrier, divergent warp
// operations, an invalid launch configuration) end the launch with a message, never a hang.
#include "cuda_emulation.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace spike_emu {

// ----------------------------------------------------------------------------
// context switching

#if defined(__x86_64__)
// switch_stack(save, load): pushes the callee-saved registers, MXCSR and the x87 control word,
// stores the stack pointer in *save, loads `load` and pops the same from there.
extern "C" void spike_emu_switch(void** save, void* load);
extern "C" void spike_emu_fiber_entry();
__asm__(R"(
    .text
    .globl spike_emu_switch
    .hidden spike_emu_switch
    .type spike_emu_switch,@function
spike_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size spike_emu_switch,.-spike_emu_switch

    .globl spike_emu_fiber_entry
    .hidden spike_emu_fiber_entry
    .type spike_emu_fiber_entry,@function
spike_emu_fiber_entry:
    movq %rbx, %rdi
    callq *%r12
    ud2
    .size spike_emu_fiber_entry,.-spike_emu_fiber_entry
)");
#endif

enum thread_status { READY, AT_BARRIER, AT_WARP, DONE };

struct block_state;

struct thread_state {
    uint3 idx;
    unsigned int linear;
    thread_status status;
    block_state* block;
    void* stack_top;
#if defined(__x86_64__)
    void* sp;
#else
    ucontext_t ctx;
#endif
    // the warp operation this lane waits in
    warp_op op;
    unsigned int op_mask;
    int op_arg;
    uint64_t op_in, op_out;
};

struct block_state {
    const char* kernel;
    std::vector<thread_state>* threads;
    unsigned int count;
    unsigned int live;       // threads that have not exited
    unsigned int at_barrier; // threads waiting in __syncthreads
#if defined(__x86_64__)
    void* scheduler_sp;
#else
    ucontext_t scheduler_ctx;
#endif
    std::string error;
};

thread_local thread_state* t_thread = nullptr;
thread_local uint3 t_block_idx;
thread_local dim3 t_block_dim;
thread_local dim3 t_grid_dim;

static thread_local std::string t_last_error;
static thread_local void (*t_body)(void**) = nullptr;
static thread_local void** t_args = nullptr;

const uint3& thread_idx() { return t_thread->idx; }

// Stacks: one per thread of the largest block seen, mapped once per OS thread with a guard page
// below each (a kernel that overflows its stack faults instead of corrupting a neighbour).
static const size_t kStackBytes = 64 * 1024;
static const size_t kGuardBytes = 4096;

struct stack_pool {
    char* base = nullptr;
    size_t count = 0;
    ~stack_pool() {
        if (base) munmap(base, count * (kStackBytes + kGuardBytes));
    }
    bool reserve(size_t n) {
        if (n <= count) return true;
        if (base) munmap(base, count * (kStackBytes + kGuardBytes));
        base = nullptr;
        count = 0;
        const size_t bytes = n * (kStackBytes + kGuardBytes);
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) return false;
        base = static_cast<char*>(p);
        count = n;
        for (size_t i = 0; i < n; i++) mprotect(base + i * (kStackBytes + kGuardBytes), kGuardBytes, PROT_NONE);
        return true;
    }
    char* top(size_t i) const { return base + (i + 1) * (kStackBytes + kGuardBytes); }
};

static thread_local stack_pool t_stacks;

static std::string describe(const block_state* b);

static void fail(block_state* b, const char* format, ...) {
    if (!b->error.empty()) return;
    char buf[1024];
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    b->error = buf;
}

// Leaves the running fiber for the scheduler; returns when the scheduler resumes it.
static void yield_to_scheduler(thread_state* t) {
#if defined(__x86_64__)
    spike_emu_switch(&t->sp, t->block->scheduler_sp);
#else
    swapcontext(&t->ctx, &t->block->scheduler_ctx);
#endif
    t_thread = t;
}

static void release_barrier(block_state* b) {
    for (auto& t : *b->threads)
        if (t.status == AT_BARRIER) t.status = READY;
    b->at_barrier = 0;
}

static void fiber_main(thread_state* t) {
    t_thread = t;
    t_body(t_args);
    block_state* b = t->block;
    t->status = DONE;
    b->live--;
    if (b->at_barrier > 0)
        fail(b, "%s: block (%u,%u,%u): thread %u exited while other threads wait in __syncthreads (a barrier "
                "every thread of the block must reach): %s",
             b->kernel, t_block_idx.x, t_block_idx.y, t_block_idx.z, t->linear, describe(b).c_str());
#if defined(__x86_64__)
    void* dead;
    spike_emu_switch(&dead, b->scheduler_sp);
#else
    setcontext(&b->scheduler_ctx);
#endif
    __builtin_unreachable();
}

#if !defined(__x86_64__)
static void fiber_start(unsigned int hi, unsigned int lo) {
    fiber_main(reinterpret_cast<thread_state*>(((uintptr_t)hi << 32) | lo));
}
#endif

static void start_fiber(thread_state* t) {
#if defined(__x86_64__)
    // Initial frame for spike_emu_switch's pops: mxcsr/fpcw, r15, r14, r13, r12 (entry function),
    // rbx (its argument), rbp, then the return address spike_emu_fiber_entry. The entry is
    // reached by `ret` with rsp = 0 mod 16, so its `call` enters fiber_main with rsp = 8 mod 16
    // as the ABI requires.
    uintptr_t top = reinterpret_cast<uintptr_t>(t->stack_top) & ~uintptr_t(15);
    void** sp = reinterpret_cast<void**>(top - 24);
    sp[0] = reinterpret_cast<void*>(&spike_emu_fiber_entry);
    sp -= 6;
    sp[5] = nullptr;                                     // rbp
    sp[4] = t;                                           // rbx
    sp[3] = reinterpret_cast<void*>(&fiber_main);        // r12
    sp[2] = sp[1] = sp[0] = nullptr;                     // r13 r14 r15
    sp -= 1;
    uint32_t mxcsr = 0;
    uint16_t fpcw = 0;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(fpcw));
    memset(sp, 0, 8);
    memcpy(sp, &mxcsr, 4);
    memcpy(reinterpret_cast<char*>(sp) + 4, &fpcw, 2);
    t->sp = sp;
#else
    getcontext(&t->ctx);
    t->ctx.uc_stack.ss_sp = static_cast<char*>(t->stack_top) - kStackBytes;
    t->ctx.uc_stack.ss_size = kStackBytes;
    t->ctx.uc_link = nullptr;
    const uintptr_t p = reinterpret_cast<uintptr_t>(t);
    makecontext(&t->ctx, reinterpret_cast<void (*)()>(fiber_start), 2, (unsigned int)(p >> 32), (unsigned int)p);
#endif
}

static void resume(block_state* b, thread_state* t) {
    t_thread = t;
#if defined(__x86_64__)
    spike_emu_switch(&b->scheduler_sp, t->sp);
#else
    swapcontext(&b->scheduler_ctx, &t->ctx);
#endif
    t_thread = nullptr;
}

static const char* status_name(const thread_state& t) {
    switch (t.status) {
    case AT_BARRIER: return "__syncthreads";
    case AT_WARP: return t.op == WARP_BALLOT ? "__ballot_sync" : "__shfl_xor_sync";
    case DONE: return "exited";
    default: return "ready";
    }
}

// "threads 0-31, 64 wait in __syncthreads; ..." for the deadlock report.
static std::string describe(const block_state* b) {
    std::string out;
    for (int s = AT_BARRIER; s <= DONE; s++) {
        std::string ids;
        unsigned int n = 0, run_start = 0, prev = 0;
        bool open = false;
        auto flush = [&] {
            if (!open) return;
            if (!ids.empty()) ids += ",";
            ids += std::to_string(run_start);
            if (prev != run_start) ids += "-" + std::to_string(prev);
        };
        for (const auto& t : *b->threads) {
            if (t.status != s) continue;
            n++;
            if (open && t.linear == prev + 1) {
                prev = t.linear;
                continue;
            }
            flush();
            open = true;
            run_start = prev = t.linear;
        }
        flush();
        if (n == 0) continue;
        for (const auto& t : *b->threads) {
            if (t.status != s) continue;
            if (!out.empty()) out += "; ";
            out += "threads " + ids + " " + (s == DONE ? "exited" : std::string("wait in ") + status_name(t));
            if (s == AT_WARP) {
                char m[32];
                snprintf(m, sizeof m, " (mask 0x%08x)", t.op_mask);
                out += m;
            }
            break;
        }
    }
    return out;
}

// ----------------------------------------------------------------------------
// barriers and warp operations (called on a fiber)

void sync_threads() {
    thread_state* t = t_thread;
    block_state* b = t->block;
    if (b->live < b->count) {
        t->status = AT_BARRIER;
        fail(b, "%s: block (%u,%u,%u): thread %u reaches __syncthreads after other threads exited (a barrier every "
                "thread of the block must reach): %s",
             b->kernel, t_block_idx.x, t_block_idx.y, t_block_idx.z, t->linear, describe(b).c_str());
        yield_to_scheduler(t);
        return;
    }
    t->status = AT_BARRIER;
    b->at_barrier++;
    if (b->at_barrier == b->live) {
        release_barrier(b);
        return;
    }
    yield_to_scheduler(t);
}

uint64_t warp_exchange(warp_op op, unsigned int mask, uint64_t value, int arg) {
    thread_state* t = t_thread;
    block_state* b = t->block;
    const unsigned int lane = t->linear & 31u;
    if (!(mask >> lane & 1u)) {
        fail(b, "%s: block (%u,%u,%u) thread %u calls a warp operation with mask 0x%08x that excludes its own lane %u",
             b->kernel, t_block_idx.x, t_block_idx.y, t_block_idx.z, t->linear, mask, lane);
        yield_to_scheduler(t);
        return value;
    }
    t->status = AT_WARP;
    t->op = op;
    t->op_mask = mask;
    t->op_arg = arg;
    t->op_in = value;
    thread_state* warp = &(*b->threads)[t->linear & ~31u];
    const unsigned int lanes = b->count - (t->linear & ~31u) < 32 ? b->count - (t->linear & ~31u) : 32;
    // complete when every existing lane of the mask waits in a warp operation
    for (unsigned int l = 0; l < lanes; l++) {
        if (!(mask >> l & 1u)) continue;
        if (warp[l].status != AT_WARP) {
            yield_to_scheduler(t);
            return t->op_out;
        }
    }
    for (unsigned int l = 0; l < lanes; l++) {
        if (!(mask >> l & 1u)) continue;
        if (warp[l].op != op || warp[l].op_mask != mask) {
            fail(b, "%s: block (%u,%u,%u) warp %u: lanes meet in different warp operations (%s mask 0x%08x, %s mask 0x%08x)",
                 b->kernel, t_block_idx.x, t_block_idx.y, t_block_idx.z, t->linear / 32, status_name(warp[l]),
                 warp[l].op_mask, status_name(*t), mask);
            yield_to_scheduler(t);
            return value;
        }
    }
    uint64_t ballot = 0;
    if (op == WARP_BALLOT)
        for (unsigned int l = 0; l < lanes; l++)
            if ((mask >> l & 1u) && warp[l].op_in) ballot |= 1ull << l;
    for (unsigned int l = 0; l < lanes; l++) {
        if (!(mask >> l & 1u)) continue;
        thread_state& w = warp[l];
        if (op == WARP_BALLOT) {
            w.op_out = ballot;
        } else {
            // a source lane outside the warp or the mask leaves the caller's own value
            const unsigned int src = l ^ (unsigned int)w.op_arg;
            w.op_out = (src < lanes && (mask >> src & 1u)) ? warp[src].op_in : w.op_in;
        }
    }
    for (unsigned int l = 0; l < lanes; l++)
        if (mask >> l & 1u) warp[l].status = READY;
    return t->op_out;
}

// ----------------------------------------------------------------------------
// launch

static int launch_error(const char* format, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    t_last_error = buf;
    return -1;
}

int launch(const char* kernel, const launch_config* c, void (*body)(void**), void** args) {
    t_last_error.clear();
    const unsigned long long threads = (unsigned long long)c->block_x * c->block_y * c->block_z;
    if (c->grid_x == 0 || c->grid_y == 0 || c->grid_z == 0 || threads == 0 || threads > 1024 || c->block_z > 64 ||
        c->grid_y > 65535 || c->grid_z > 65535)
        return launch_error("%s: invalid launch configuration grid (%u,%u,%u) block (%u,%u,%u) "
                            "(CUDA limits: 1..1024 threads per block, block.z <= 64, grid.y and grid.z <= 65535)",
                            kernel, c->grid_x, c->grid_y, c->grid_z, c->block_x, c->block_y, c->block_z);
    if (c->shared_bytes != 0)
        return launch_error("%s: %u bytes of dynamic shared memory requested; the kernels declare theirs statically",
                            kernel, c->shared_bytes);
    if (!t_stacks.reserve(threads)) return launch_error("%s: cannot map %llu fiber stacks", kernel, threads);
    if (t_thread != nullptr) return launch_error("%s: launched from inside a kernel", kernel);

    std::vector<thread_state> ts(threads);
    block_state b;
    b.kernel = kernel;
    b.threads = &ts;
    b.count = (unsigned int)threads;
    t_grid_dim = {c->grid_x, c->grid_y, c->grid_z};
    t_block_dim = {c->block_x, c->block_y, c->block_z};
    t_body = body;
    t_args = args;
    for (unsigned int bz = 0; bz < c->grid_z; bz++)
        for (unsigned int by = 0; by < c->grid_y; by++)
            for (unsigned int bx = 0; bx < c->grid_x; bx++) {
                t_block_idx = {bx, by, bz};
                b.live = b.count;
                b.at_barrier = 0;
                for (unsigned int i = 0; i < b.count; i++) {
                    thread_state& t = ts[i];
                    t.linear = i;
                    t.idx = {i % c->block_x, i / c->block_x % c->block_y, i / (c->block_x * c->block_y)};
                    t.status = READY;
                    t.block = &b;
                    t.stack_top = t_stacks.top(i);
                    start_fiber(&t);
                }
                while (b.live > 0 && b.error.empty()) {
                    bool ran = false;
                    for (auto& t : ts) {
                        if (t.status != READY) continue;
                        ran = true;
                        resume(&b, &t);
                        if (!b.error.empty()) break;
                    }
                    if (!ran && b.error.empty())
                        fail(&b, "%s: deadlock in block (%u,%u,%u) of grid (%u,%u,%u), block (%u,%u,%u): %s", kernel,
                             bx, by, bz, c->grid_x, c->grid_y, c->grid_z, c->block_x, c->block_y, c->block_z,
                             describe(&b).c_str());
                }
                if (!b.error.empty()) {
                    t_last_error = b.error;
                    return -1;
                }
            }
    return 0;
}

} // namespace spike_emu

// ----------------------------------------------------------------------------
// exports besides the launch entries

extern "C" __attribute__((visibility("default"))) const char* spike_emu_last_error() {
    return spike_emu::t_last_error.c_str();
}

// 1 when a*b+c may be contracted into an FMA (the GPU build's --fmad=true), else 0.
extern "C" __attribute__((visibility("default"))) int spike_emu_fmad() {
#if defined(SPIKE_EMU_FMAD) && SPIKE_EMU_FMAD
    return 1;
#else
    return 0;
#endif
}
