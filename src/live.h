/*
 * live.h - process-wide registry of live owners, for locks in shared memory whose holder may
 * die while holding them (a worker terminated in the middle of SharedMap.update()).
 *
 * An owner is one thread of JS (one napi_env), or one thread of a C test. It registers once
 * and gets a token: a nonzero 31-bit number that is unique in the process for as long as the
 * owner lives and, in practice, for long after (see TOKENS). A lock word in shared memory
 * holds its holder's token; a thread that finds a lock held asks rp_live_alive(token) after
 * a bounded spin, and if the holder is gone it may take the lock over and repair what the
 * holder left (see map.h "DEAD OWNERS").
 *
 * LAYOUT (the only mutable global of this file, zero-initialised static storage)
 *   slots[RP_LIVE_SLOTS]  u32: the token of the owner registered in slot i, or 0 when free.
 *   gen                   u32: registration counter.
 *
 * TOKENS
 *   token = ((gen & 0x7FFFF) << 12) | slot, with slot in [1, RP_LIVE_SLOTS - 1]; bit 31 is
 *   always clear (lock words use it as a "waiters" flag). A token is alive exactly while
 *   slots[token & 0xFFF] == token. After its owner unregisters, the same token can come back
 *   only after 2^19 further registrations land in the same slot while a lock word still holds
 *   the old one: not a practical concern.
 *
 * CONCURRENCY
 *   rp_live_register / unregister / alive may run concurrently on any threads. register
 *   claims a free slot with a CAS (seq_cst); unregister stores 0 (seq_cst) only if the slot
 *   still holds the caller's token. alive is one seq_cst load: a holder that unregistered is
 *   seen dead by every alive() that follows the unregister in the seq_cst order. A thread
 *   must stop touching shared locks before it unregisters (the N-API glue unregisters in the
 *   env cleanup hook, after the last JS of that env has run).
 */
#ifndef RP_LIVE_H
#define RP_LIVE_H

#include <stdint.h>

#define RP_LIVE_SLOTS 4096u

/* Registers the calling owner: its token, or 0 when every slot is taken (then the caller
 * cannot hold recoverable locks). */
uint32_t rp_live_register(void);

/* Unregisters token (idempotent; a token that is not registered is ignored). */
void rp_live_unregister(uint32_t token);

/* Nonzero while token is registered. */
int rp_live_alive(uint32_t token);

#endif
