/* libpq, opened when first used (src/core/dynlib.h): only `a2m search --storage postgresql://` needs it, and
 * linking it loads ~20 more libraries (OpenSSL, Kerberos, LDAP) into every a2m process. A function newly
 * called from a2m goes into this list. */
#ifndef A2M_SEARCH_PQ_DL_H
#define A2M_SEARCH_PQ_DL_H

#include <libpq-fe.h>

#include "core/dynlib.h"

#define A2M_PQ_FNS(X)                                                                                                  \
    X(PQclear)                                                                                                         \
    X(PQconnectdb)                                                                                                     \
    X(PQdb)                                                                                                            \
    X(PQerrorMessage)                                                                                                  \
    X(PQexec)                                                                                                          \
    X(PQexecParams)                                                                                                    \
    X(PQfinish)                                                                                                        \
    X(PQgetisnull)                                                                                                     \
    X(PQgetvalue)                                                                                                      \
    X(PQhost)                                                                                                          \
    X(PQnfields)                                                                                                       \
    X(PQntuples)                                                                                                       \
    X(PQresultErrorMessage)                                                                                            \
    X(PQresultStatus)                                                                                                  \
    X(PQstatus)

struct a2m_pq_fns {
    A2M_PQ_FNS(A2M_DL_SLOT)
};
extern struct a2m_pq_fns a2m_pq;
/* 0 when the library is loaded, else A2M_ERR_UNSUPPORTED naming it */
int a2m_pq_load(void);

#ifndef A2M_DL_NO_REDIRECT
#define PQclear              a2m_pq.PQclear
#define PQconnectdb          a2m_pq.PQconnectdb
#define PQdb                 a2m_pq.PQdb
#define PQerrorMessage       a2m_pq.PQerrorMessage
#define PQexec               a2m_pq.PQexec
#define PQexecParams         a2m_pq.PQexecParams
#define PQfinish             a2m_pq.PQfinish
#define PQgetisnull          a2m_pq.PQgetisnull
#define PQgetvalue           a2m_pq.PQgetvalue
#define PQhost               a2m_pq.PQhost
#define PQnfields            a2m_pq.PQnfields
#define PQntuples            a2m_pq.PQntuples
#define PQresultErrorMessage a2m_pq.PQresultErrorMessage
#define PQresultStatus       a2m_pq.PQresultStatus
#define PQstatus             a2m_pq.PQstatus
#endif

#endif
