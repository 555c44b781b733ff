/* The processes of one job: see dist.h. Without SCNN_MPI (make MPI=0) every call is the one
 * process's answer. */
#include "core/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

#ifdef SCNN_MPI
#include <mpi.h>
#endif

static int g_rank, g_size = 1;
static bool g_mpi;   /* MPI_Init was called */
#ifdef SCNN_MPI
static int g_done;   /* rank 0: ranks that have said scnn_dist_say_done */
enum { TAG_LINE = 7101, LINE_MAX_BYTES = 4096 };

/* Rank 0: prints the lines that have arrived (block: until every other rank is done). */
static void drain_lines(bool block)
{
    char buf[LINE_MAX_BYTES + 1];
    for (;;) {
        int ready = 0;
        MPI_Status st;
        if (block && g_done < g_size - 1) {
            MPI_Probe(MPI_ANY_SOURCE, TAG_LINE, MPI_COMM_WORLD, &st);
            ready = 1;
        } else {
            MPI_Iprobe(MPI_ANY_SOURCE, TAG_LINE, MPI_COMM_WORLD, &ready, &st);
        }
        if (!ready)
            return;
        int n = 0;
        MPI_Get_count(&st, MPI_CHAR, &n);
        if (n > LINE_MAX_BYTES)
            n = LINE_MAX_BYTES;
        MPI_Recv(buf, n, MPI_CHAR, st.MPI_SOURCE, TAG_LINE, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (n == 0) {
            g_done++;
            continue;
        }
        fwrite(buf, 1, (size_t)n, stdout);
        fflush(stdout);
    }
}
#endif

#ifndef SCNN_MPI
/* The rank count the launcher's environment gives (Open MPI's mpirun, PMI, then PMIx under
 * Slurm's srun); a PMIx rank above 0 means several even where no size is set. */
static int launched_size(void)
{
    const char *v;
    if ((v = getenv("OMPI_COMM_WORLD_SIZE")) && atoi(v) > 1)
        return atoi(v);
    if ((v = getenv("PMI_SIZE")) && atoi(v) > 1)
        return atoi(v);
    if (getenv("PMIX_RANK") && (v = getenv("SLURM_NTASKS")) && atoi(v) > 1)
        return atoi(v);
    if ((v = getenv("PMIX_RANK")) && atoi(v) > 0)
        return atoi(v) + 1;
    return 1;
}
#endif

static bool launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

bool scnn_dist_built(void)
{
#ifdef SCNN_MPI
    return true;
#else
    return false;
#endif
}

scnn_status scnn_dist_init(int *argc, char ***argv)
{
    if (g_mpi)
        return SCNN_OK;
#ifdef SCNN_MPI
    if (launched()) {
        int ok = 0;
        MPI_Initialized(&ok);
        if (!ok && MPI_Init(argc, argv) != MPI_SUCCESS)
            return scnn_fail(SCNN_ERR_IO, "MPI_Init failed");
        g_mpi = true;
        MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
        MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    }
    return SCNN_OK;
#else
    (void)argc;
    (void)argv;
    const int n = launched() ? launched_size() : 1;
    if (n > 1)
        return scnn_fail(SCNN_ERR_ARG,
                         "started as one of %d ranks (mpirun or srun), but this scnn was built "
                         "without MPI (make MPI=0): rebuild with MPI, or run one process",
                         n);
    return SCNN_OK;
#endif
}

int scnn_dist_rank(void) { return g_rank; }
int scnn_dist_size(void) { return g_size; }

/* Not MPI_Barrier: Open MPI busy-polls in it, and a rank that has finished its iterations can
 * wait there for a whole iteration of another (5 iterations over 2 ranks; any rank beyond the
 * iteration count), burning a core that the training ranks' threads want. Measured on the 2-core
 * machine: MPI_Barrier 2.1-3.0 s of CPU during a 3 s wait, this loop 0.05 s. The 10 ms poll
 * costs at most 10 ms per barrier, and a run has two. */
void scnn_dist_barrier(void)
{
#ifdef SCNN_MPI
    if (g_mpi && g_size > 1) {
        MPI_Request q;
        int done = 0;
        const struct timespec tick = {0, 10 * 1000 * 1000};
        MPI_Ibarrier(MPI_COMM_WORLD, &q);
        while (MPI_Test(&q, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done) {
            if (g_rank == 0)
                drain_lines(false);   /* the other ranks' lines, while it waits for them */
            nanosleep(&tick, NULL);
        }
    }
#endif
}

void scnn_dist_bcast(void *p, size_t len)
{
#ifdef SCNN_MPI
    if (g_mpi && g_size > 1)
        MPI_Bcast(p, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD);
#else
    (void)p;
    (void)len;
#endif
}

void scnn_dist_say(const char *text)
{
#ifdef SCNN_MPI
    if (g_mpi && g_size > 1) {
        size_t n = strlen(text);
        if (g_rank != 0) {
            MPI_Send(text, (int)(n < LINE_MAX_BYTES ? n : LINE_MAX_BYTES), MPI_CHAR, 0, TAG_LINE,
                     MPI_COMM_WORLD);
            return;
        }
        fputs(text, stdout);
        fflush(stdout);
        drain_lines(false);
        return;
    }
#endif
    fputs(text, stdout);
    fflush(stdout);
}

void scnn_dist_say_done(void)
{
#ifdef SCNN_MPI
    if (g_mpi && g_size > 1) {
        if (g_rank != 0)
            MPI_Send("", 0, MPI_CHAR, 0, TAG_LINE, MPI_COMM_WORLD);
        else
            drain_lines(true);
    }
#endif
}

void scnn_dist_share(int count, int rank, int ranks, int *lo, int *hi)
{
    *lo = (int)((long long)count * rank / ranks);
    *hi = (int)((long long)count * (rank + 1) / ranks);
}

#ifdef SCNN_MPI
/* MPI's int counts and displacements of byte ranges: lists[k][r] for each of the k lists of
 * size_t given, in one array the caller frees (the job ends if there is no memory for it). */
static int *mpi_counts(int k, const size_t *const *lists)
{
    int *v = malloc((size_t)k * (size_t)g_size * sizeof *v);
    if (!v) {
        scnn_fail(SCNN_ERR_NOMEM, "out of memory exchanging over %d ranks", g_size);
        MPI_Abort(MPI_COMM_WORLD, 1);
        return NULL;
    }
    for (int j = 0; j < k; j++)
        for (int r = 0; r < g_size; r++)
            v[j * g_size + r] = (int)lists[j][r];
    return v;
}
#endif

void scnn_dist_allgather(void *buf, const size_t *off, const size_t *len)
{
#ifdef SCNN_MPI
    if (g_mpi && g_size > 1) {
        int *v = mpi_counts(2, (const size_t *const[]){len, off});
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_BYTE, buf, v, v + g_size, MPI_BYTE, MPI_COMM_WORLD);
        free(v);
    }
#else
    (void)buf;
    (void)off;
    (void)len;
#endif
}

void scnn_dist_alltoall(const void *send, const size_t *soff, const size_t *slen, void *recv,
                        const size_t *roff, const size_t *rlen)
{
#ifdef SCNN_MPI
    if (g_mpi && g_size > 1) {
        int *v = mpi_counts(4, (const size_t *const[]){slen, soff, rlen, roff});
        MPI_Alltoallv(send, v, v + g_size, MPI_BYTE, recv, v + 2 * g_size, v + 3 * g_size,
                      MPI_BYTE, MPI_COMM_WORLD);
        free(v);
        return;
    }
#endif
    memcpy((char *)recv + roff[0], (const char *)send + soff[0], slen[0] < rlen[0] ? slen[0] : rlen[0]);
}

int scnn_dist_finish(int exit_code)
{
#ifdef SCNN_MPI
    if (g_mpi) {
        if (exit_code != 0 && g_size > 1)
            MPI_Abort(MPI_COMM_WORLD, exit_code);
        MPI_Finalize();
        g_mpi = false;
    }
#endif
    return exit_code;
}
