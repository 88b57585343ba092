"""What a quorum queue costs against a classic one, on one broker (docs/operations.md):

    python -m bench.queue_cost --url amqp://guest:guest@127.0.0.1:5711// --pid <the node's pid> -n 8000

Each run declares a durable queue of one type, publishes N persistent 400-byte messages from 4
threads with publisher confirms (one message at a time, as createPost publishes a stage),
consumes them with a prefetch of 8 and an ack each (as a worker does), then deletes the queue;
it prints messages/s and the broker's CPU per message (from /proc/<pid>). Classic and quorum
alternate, three runs each. A single-node broker of its own gives a quorum queue's cost on one
node: `RABBITMQ_CLUSTER_NODES=1 RABBITMQ_CLUSTER_NAME=solo RABBITMQ_CLUSTER_PORT=5710
RABBITMQ_CLUSTER_DIR=/tmp/chat-rabbitmq-solo scripts/rabbitmq-cluster start` (`pid 1` names it).
"""
import argparse
import os
import threading
import time
import uuid

from kombu import Connection, Consumer, Exchange, Queue

BODY = b"x" * 400
PUBLISHERS = 4


def cpu_s(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(url, pid, kind, n):
    name = f"queue-cost-{kind}-{uuid.uuid4().hex[:6]}"
    exchange = Exchange(name, type="direct", durable=True)
    queue = Queue(name, exchange, routing_key=name, durable=True,
                  queue_arguments={"x-queue-type": "quorum"} if kind == "quorum" else {})
    with Connection(url) as connection:
        queue(connection.default_channel).declare()
    done, count = threading.Event(), [0]

    def consume():
        with Connection(url) as connection:
            channel = connection.channel()
            channel.basic_qos(0, 8, False)

            def on_message(body, message):
                message.ack()
                count[0] += 1
                if count[0] >= n:
                    done.set()

            with Consumer(channel, [queue], callbacks=[on_message], accept=None):
                while not done.is_set():
                    try:
                        connection.drain_events(timeout=1)
                    except TimeoutError:
                        pass

    def publish(k):
        with Connection(url, transport_options={"confirm_publish": True}) as connection:
            producer = connection.Producer()
            for _ in range(k):
                producer.publish(BODY, exchange=exchange, routing_key=name, delivery_mode=2,
                                 content_type="application/data")

    consumer = threading.Thread(target=consume)
    consumer.start()
    time.sleep(0.5)
    cpu_before, started = cpu_s(pid), time.monotonic()
    publishers = [threading.Thread(target=publish, args=(n // PUBLISHERS,)) for _ in range(PUBLISHERS)]
    for thread in publishers:
        thread.start()
    for thread in publishers:
        thread.join()
    done.wait(300)
    wall, used = time.monotonic() - started, cpu_s(pid) - cpu_before
    consumer.join()
    with Connection(url) as connection:
        connection.default_channel.queue_delete(name)
        connection.default_channel.exchange_delete(name)
    print(f"{kind:8s} {n / wall:7.0f} messages/s   broker CPU {used / n * 1e3:.3f} ms/message", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the broker (one node)")
    parser.add_argument("--pid", type=int, required=True, help="the broker's pid, for its CPU")
    parser.add_argument("-n", type=int, default=8000, help="messages per run (a multiple of 4)")
    args = parser.parse_args()
    for i in range(3):
        for kind in ("classic", "quorum") if i % 2 == 0 else ("quorum", "classic"):
            run(args.url, args.pid, kind, args.n)


if __name__ == "__main__":
    main()
