/* The node's option table (see core/option.h for the machinery). */
#ifndef CACHELY_NODE_OPTIONS_H
#define CACHELY_NODE_OPTIONS_H

#include "core/option.h"

extern const struct option_def node_options[];
extern const struct option_alias node_option_aliases[];
extern const struct option_refusal node_option_refusals[];

#endif
