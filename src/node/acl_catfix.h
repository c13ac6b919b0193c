/* Category corrections for node/acl.c (see acl_cat_fixes there). */
