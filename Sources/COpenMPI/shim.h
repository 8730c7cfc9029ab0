// OpenMPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros over the addresses of global structs,
// which Swift cannot import: these inline functions hand them over as values.
#include <mpi.h>

static inline MPI_Comm funnel_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype funnel_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype funnel_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype funnel_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Op funnel_mpi_sum(void) { return MPI_SUM; }
static inline int funnel_mpi_success(void) { return MPI_SUCCESS; }
static inline void *funnel_mpi_in_place(void) { return MPI_IN_PLACE; }
