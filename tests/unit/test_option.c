#include <criterion/criterion.h>

Test(option, placeholder_builds)
{
    cr_assert(1);
}
