-- An operation that moves a running bundle application to another registered version of its bundle.
ALTER TYPE "OperationKind" ADD VALUE 'upgrade';
