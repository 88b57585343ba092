"""The full stack's channel layer: channels_rabbitmq's, on a RabbitMQ cluster.

channels_rabbitmq connects to one `host` and, whenever its connection fails or drops, connects
again (every second while it fails). Given several `;`-separated URLs (AMQP_URL naming a
cluster), each new attempt here takes the next of them, round robin: when a web process's
node goes, its layer is on another node a moment later.

Its exclusive queue lived on the lost node and went with it: on the new node the layer
declares a new one and binds the groups it had (it does both on every reconnect). Group
messages sent meanwhile are lost, as channel layers allow; the room streams fill the gap from
the database (posts/stream.py), as they do for any lost message.
"""
import itertools

from channels_rabbitmq.core import RabbitmqChannelLayer


class FailoverRabbitmqChannelLayer(RabbitmqChannelLayer):
    @property
    def host(self):
        # Read once per connection attempt (RabbitmqChannelLayer._reconnect_forever).
        return next(self._hosts)

    @host.setter
    def host(self, value):
        urls = [url.strip() for url in value.split(";") if url.strip()]
        if not urls:
            raise ValueError("the channel layer needs a broker URL")
        self.hosts = tuple(urls)
        self._hosts = itertools.cycle(urls)
