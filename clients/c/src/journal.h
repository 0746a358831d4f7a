/* The upload journal: for an upload not yet committed, the request id its CreateSession
 * used and the session it got, so that running the same upload again resumes that session
 * (asking GetSession which partitions are stored) instead of starting over. One small file
 * per upload, named by a SHA-256 of (server, owner, remote name, local path, declaration):
 * a changed file is a different upload. Written before CreateSession (so a kill between the
 * call and its answer still finds the session through the idempotent request id), removed
 * after the commit. */
#ifndef SLUICE_C_JOURNAL_H
#define SLUICE_C_JOURNAL_H

#include "plan.h"
#include "status.h"

typedef struct Journal {
    char *path;            /* the entry's file */
    char request_id[80];   /* "" when none is recorded */
    char session_id[80];   /* "" when none is recorded */
} Journal;

/* Finds (or names) the entry of this upload; an unreadable state directory is an error. */
bool journal_open(Journal *j, const char *state_dir, const char *server, const char *owner,
                  const char *remote, const char *local_path, const Plan *plan, Status *st);
bool journal_save(Journal *j, Status *st);
void journal_remove(Journal *j);
void journal_free(Journal *j);

/* A new random request id ("sluice-c-" and 32 hex digits). */
void journal_new_request_id(Journal *j);

#endif
