/* atomics.h: private: the few memory-ordering helpers the library uses, and a spin-wait hint. */
#ifndef SP_ATOMICS_H
#define SP_ATOMICS_H

#include <stdatomic.h>

/* Each call site says what it orders against; these names only make the
 * order visible where it is used.  Every atomic operation of the library
 * goes through one of them (no atomic_*_explicit call outside this file),
 * and none takes the implicit seq_cst of the plain C11 functions: the few
 * that need it say so by name (*_seq_cst). */
#define load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define load_seq_cst(p) atomic_load_explicit((p), memory_order_seq_cst)
#define store_seq_cst(p, v) atomic_store_explicit((p), (v), memory_order_seq_cst)
#define cas_relaxed(p, e, v) \
	atomic_compare_exchange_strong_explicit((p), (e), (v), memory_order_relaxed, \
						memory_order_relaxed)
#define cas_acq_rel(p, e, v) \
	atomic_compare_exchange_strong_explicit((p), (e), (v), memory_order_acq_rel, \
						memory_order_acquire)
#define cas_seq_cst(p, e, v) \
	atomic_compare_exchange_strong_explicit((p), (e), (v), memory_order_seq_cst, \
						memory_order_seq_cst)
/* Weak CASes, for retry loops; the failure order is relaxed (the loop
 * re-reads, or the caller acts on nothing it read). */
#define cas_weak_acquire(p, e, v) \
	atomic_compare_exchange_weak_explicit((p), (e), (v), memory_order_acquire, \
					      memory_order_relaxed)
#define cas_weak_relaxed(p, e, v) \
	atomic_compare_exchange_weak_explicit((p), (e), (v), memory_order_relaxed, \
					      memory_order_relaxed)
#define cas_weak_acq_rel(p, e, v) \
	atomic_compare_exchange_weak_explicit((p), (e), (v), memory_order_acq_rel, \
					      memory_order_relaxed)
#define cas_weak_seq_cst(p, e, v) \
	atomic_compare_exchange_weak_explicit((p), (e), (v), memory_order_seq_cst, \
					      memory_order_relaxed)
/* The one whose caller uses what a failure read: acquire then. */
#define cas_weak_seq_cst_acquire(p, e, v) \
	atomic_compare_exchange_weak_explicit((p), (e), (v), memory_order_seq_cst, \
					      memory_order_acquire)
#define fetch_add_relaxed(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define fetch_add_release(p, v) atomic_fetch_add_explicit((p), (v), memory_order_release)
#define fetch_add_acq_rel(p, v) atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define fetch_add_seq_cst(p, v) atomic_fetch_add_explicit((p), (v), memory_order_seq_cst)
#define fetch_sub_relaxed(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define fetch_sub_acq_rel(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_acq_rel)
#define fetch_or_relaxed(p, v) atomic_fetch_or_explicit((p), (v), memory_order_relaxed)
#define fetch_and_relaxed(p, v) atomic_fetch_and_explicit((p), (v), memory_order_relaxed)
#define exchange_relaxed(p, v) atomic_exchange_explicit((p), (v), memory_order_relaxed)
#define exchange_seq_cst(p, v) atomic_exchange_explicit((p), (v), memory_order_seq_cst)
/* A full (StoreLoad) fence, for the Dekker pairs that need one on both
 * sides and cannot use fence.h's asymmetric pair. */
#define fence_seq_cst() atomic_thread_fence(memory_order_seq_cst)

/* One load of a plain (not atomic) field of shared memory, which a peer
 * may change at any time: the compiler may neither repeat nor merge it, so
 * the value a caller checks is the value it uses. */
#define read_once(p) (*(const volatile __typeof__(*(p)) *)(p))

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

#endif
