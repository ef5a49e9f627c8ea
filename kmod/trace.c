// SPDX-License-Identifier: GPL-2.0
/*
 * The tracepoints' definitions (see mempager_trace.h).
 */
#define CREATE_TRACE_POINTS
#include "mempager_trace.h"
