/*
 * main -- ward-sensor's entry point: parse the options, run the sensor.  The
 * wiring and the loop are in sensor.c so that tests can reach them.
 */
#include <errno.h>

#include "sensor.h"

int main(int argc, char **argv)
{
    struct sensor_opts o;
    int rc = sensor_opts_parse(argc, argv, &o);
    if (rc == 1)
        return 0;
    if (rc < 0)
        return 2;
    return sensor_run(&o);
}
