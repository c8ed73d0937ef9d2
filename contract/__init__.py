"""The data contract: the schemas records are written and read with, and the rules they
keep. No Spark here: the consumer, the schema gate and the inspector all import it."""
