/* The processes of one job (core/dist.c): Open MPI when the build has it (make MPI=1, the
 * default where mpicc is found) and mpirun or srun started this process; otherwise one process.
 *
 * Only a process that its environment says was started as a rank calls MPI_Init: a plain
 * `scnn train` never touches MPI. A build without MPI that finds itself one of several ranks
 * refuses to run (scnn_dist_init: SCNN_ERR_ARG), so that several copies never write one run
 * folder. */
#ifndef SCNN_CORE_DIST_H
#define SCNN_CORE_DIST_H

#include <stdbool.h>
#include <stddef.h>

#include "scnn.h"

/* Whether this build has MPI. */
bool scnn_dist_built(void);
/* Joins the job (MPI_Init where launched as a rank). Idempotent. SCNN_ERR_ARG (message set)
 * when a build without MPI is one of several ranks. */
scnn_status scnn_dist_init(int *argc, char ***argv);
/* This process's rank and the number of ranks (0 and 1 outside a job). */
int scnn_dist_rank(void);
int scnn_dist_size(void);
/* Waits for every rank. */
void scnn_dist_barrier(void);
/* Rank 0's len bytes at p, on every rank. */
void scnn_dist_bcast(void *p, size_t len);
/* The share of `count` items (chunks, batches) that rank `rank` of `ranks` owns: [*lo, *hi), in
 * contiguous blocks in rank order; every rank computes every rank's share the same way. */
void scnn_dist_share(int count, int rank, int ranks, int *lo, int *hi);
/* In place: every rank's bytes [off[r], off[r] + len[r]) of buf (r = 0 .. size - 1), on every
 * rank (MPI_Allgatherv; each range under 2 GiB). Nothing to do for one process. */
void scnn_dist_allgather(void *buf, const size_t *off, const size_t *len);
/* Every rank sends its bytes send[soff[r], +slen[r]) to rank r and receives rank r's into
 * recv[roff[r], +rlen[r]) (MPI_Alltoallv; each range under 2 GiB). One process: its own range
 * is copied. */
void scnn_dist_alltoall(const void *send, const size_t *soff, const size_t *slen, void *recv,
                        const size_t *roff, const size_t *rlen);
/* A line of output (text ending in a newline) for rank 0 to print: rank 0 prints it on stdout,
 * then any line the other ranks have sent it; another rank sends it to rank 0 (small messages:
 * MPI sends them at once), which prints it the next time it prints, waits in
 * scnn_dist_barrier or calls scnn_dist_say_done. One process: printed. */
void scnn_dist_say(const char *text);
/* The end of every rank's lines: ranks above 0 say they are done; rank 0 prints what is left
 * until every rank has said so. Every rank calls it once, before the last barrier. */
void scnn_dist_say_done(void);
/* Leaves the job. exit_code != 0 with several ranks aborts the whole job (MPI_Abort), so that
 * no rank waits forever for one that failed; returns exit_code otherwise. */
int scnn_dist_finish(int exit_code);

#endif
